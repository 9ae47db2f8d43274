"""Database statements per job: what ``Worker.run_pending`` sends, counted by kind.

On PostgreSQL every statement is a round trip, so this is the count the drain plan in
BENCHMARKS.md works from. Events are seeded as the web process would store them; the worker
runs a few jobs to warm up, then ``--jobs`` more while SQLAlchemy's events count every
statement, ``BEGIN``, ``COMMIT`` and ``ROLLBACK`` (psycopg sends ``BEGIN`` as a statement of its
own; SQLite's ``BEGIN IMMEDIATE`` comes from the engine's begin hook).

    .venv/bin/python bench/count_statements.py --db postgres [--jobs 50]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import event

from bench import stack
from bench.seed import seeded_worker


def _kind(statement: str) -> str:
    """The statement's verb and table, e.g. ``UPDATE jobs``."""
    words = statement.split()
    if words[:1] == ["SELECT"] and "FROM" in words:
        return f"SELECT {words[words.index('FROM') + 1]}"
    if words[:2] == ["INSERT", "INTO"]:
        return f"INSERT {words[2]}"
    return " ".join(words[:2])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="postgres")
    parser.add_argument("--jobs", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        sandbox, ivvy_url = stack.start_sandbox(directory / "sandbox.log")
        try:
            config = stack.bench_config(directory, ivvy_url)
            with seeded_worker(args.db, directory, config, "count", args.jobs) as worker:
                counts: Counter[str] = Counter()
                engine = worker.runtime.engine

                @event.listens_for(engine, "before_cursor_execute")
                def _statement(_c: Any, _cur: Any, statement: str, *_rest: Any) -> None:
                    counts[_kind(statement)] += 1

                def _sent(conn: Any, name: str) -> None:
                    # In autocommit the driver sends no BEGIN, COMMIT or ROLLBACK.  psycopg's
                    # autocommit is a bool; sqlite3's is -1 unless set (its legacy mode).
                    if getattr(conn.connection.dbapi_connection, "autocommit", False) is not True:
                        counts[name] += 1

                for name in ("begin", "commit", "rollback"):
                    event.listen(engine, name, lambda conn, name=name: _sent(conn, name.upper()))
                done = worker.run_pending(args.jobs)
        finally:
            sandbox.stop()
    for kind, count in counts.most_common():
        print(f"{count / done:6.2f}  {kind}")
    print(f"{sum(counts.values()) / done:6.2f}  in all, per job ({done} jobs, {args.db})")


if __name__ == "__main__":
    main()
