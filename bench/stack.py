"""The parts a benchmark runs: fresh databases, gunicorn, ``bridge worker``, the sandbox iVvy."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import requests
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bench.signed import SECRET, SOURCE
from bridge.ivvy.sandbox import SANDBOX_KEY, SANDBOX_SECRET
from bridge.store.migrate import upgrade
from tests.support.configs import SYDNEY_HOLIDAYS, write_config
from tests.support.processes import free_port

REPO = Path(__file__).resolve().parent.parent
POSTGRES_ADMIN_URL = os.environ.get("BRIDGE_TEST_POSTGRES_URL") or (
    "postgresql://postgres@127.0.0.1:5432/test"
)

# One iVvy call per task: the owner is a contact by id and the assignee a user id, so the
# worker makes exactly one addOrUpdateTask call for each event.
ONE_CALL_RULE = """
  - name: typeform-follow-up
    on: {source: typeform-form}
    contact: {id: 1}
    task:
      name: "Follow up {{ email }}"
      description: "Typeform response {{ external_id }}"
      due: "+1 business day at 09:00"
      priority: high
      assignee: 1
"""


@contextmanager
def fresh_database(kind: str, directory: Path, name: str = "bridge") -> Iterator[str]:
    """An empty database: a SQLite file in ``directory`` or a new PostgreSQL database."""
    if kind == "sqlite":
        yield f"sqlite:///{directory / (name + '.sqlite')}"
        return
    if kind != "postgres":
        raise ValueError(f"unknown database kind {kind!r}")
    admin_url = POSTGRES_ADMIN_URL.replace("postgresql://", "postgresql+psycopg://", 1)
    database = f"bench_{name}_{uuid.uuid4().hex[:10]}"
    # pre-ping: the server may have been restarted (a chaos test) before the drop below.
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT", pool_pre_ping=True)
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{database}"'))
    try:
        yield make_url(admin_url).set(database=database).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(
                text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"),
                {"n": database},
            )
            conn.execute(text(f'DROP DATABASE IF EXISTS "{database}"'))
        admin.dispose()


@contextmanager
def bridge_database(kind: str, directory: Path) -> Iterator[str]:
    """A fresh, migrated bridge database."""
    with fresh_database(kind, directory, "bridge") as url:
        upgrade(url)
        yield url


TYPEFORM_SOURCE = f"""
  {SOURCE}:
    type: typeform
    secret: ${{BENCH_TYPEFORM_SECRET}}
"""


def bench_config(
    directory: Path,
    ivvy_url: str,
    *,
    rules: str = ONE_CALL_RULE,
    delivery: str = "",
    ivvy_options: str = "",
) -> Path:
    """A config with the signed ``typeform-form`` source and the given rules."""
    return write_config(
        directory,
        ivvy_url=ivvy_url,
        rules=rules,
        sources=TYPEFORM_SOURCE,
        delivery=delivery,
        ivvy_options=SYDNEY_HOLIDAYS + ivvy_options,
    )


def bridge_env(database_url: str, config: Path, **extra: str) -> dict[str, str]:
    """The environment a bridge process needs."""
    return {
        "DATABASE_URL": database_url,
        "BRIDGE_CONFIG": str(config),
        "IVVY_API_KEY": SANDBOX_KEY,
        "IVVY_API_SECRET": SANDBOX_SECRET,
        "BENCH_TYPEFORM_SECRET": SECRET,
        "LOG_LEVEL": "INFO",
        **extra,
    }


class Child:
    """A child process with its output in a file; stopped with SIGTERM, then SIGKILL."""

    def __init__(
        self, argv: list[str], env: Mapping[str, str], log_path: Path, cwd: Path = REPO
    ) -> None:
        self.log_path = log_path
        self._log = open(log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            argv,
            env={**os.environ, **env},
            cwd=cwd,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        """The process id."""
        return self.process.pid

    def children(self) -> list[int]:
        """Ids of this process's direct children (gunicorn's workers)."""
        try:
            found = Path(f"/proc/{self.pid}/task/{self.pid}/children").read_text().split()
        except OSError:
            return []
        return [int(pid) for pid in found]

    def output(self) -> str:
        """What it printed so far."""
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    def stop(self, timeout: float = 30.0) -> int | None:
        """SIGTERM, wait, then SIGKILL the whole group if needed."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)
        self._log.close()
        return self.process.returncode


def wait_until_up(url: str, child: Child, timeout: float = 30.0) -> None:
    """Poll ``url`` until it answers 200; fail early if the process died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if child.process.poll() is not None:
            output = child.output()[-3000:]
            child.stop()
            raise RuntimeError(f"{child.log_path.name}: exited early:\n{output}")
        try:
            if requests.get(url, timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    output = child.output()[-3000:]
    child.stop()
    raise RuntimeError(f"{url} did not come up:\n{output}")


def gunicorn_argv(app: str, port: int, workers: int, timeout: int = 30) -> list[str]:
    """gunicorn as ``bridge serve`` runs it (same config module, workers and timeout)."""
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--timeout",
        str(timeout),
        "--config",
        "python:bridge.gunicorn_conf",
        app,
    ]


def start_bridge_web(env: Mapping[str, str], log_path: Path, workers: int) -> tuple[Child, str]:
    """``bridge serve`` (gunicorn) on a free port."""
    port = free_port()
    argv = [sys.executable, "-m", "bridge.cli", "serve", "--host", "127.0.0.1"]
    child = Child([*argv, "--port", str(port), "--workers", str(workers)], env, log_path)
    url = f"http://127.0.0.1:{port}"
    wait_until_up(url + "/healthz", child)
    return child, url


def start_bare_web(database_url: str, log_path: Path, workers: int) -> tuple[Child, str]:
    """The bare-limit app under gunicorn with the bridge's settings."""
    from bench.bare_app import create_table

    create_table(database_url)
    port = free_port()
    child = Child(
        gunicorn_argv("bench.bare_app:app", port, workers),
        {"BENCH_DATABASE_URL": database_url},
        log_path,
    )
    url = f"http://127.0.0.1:{port}"
    wait_until_up(url + "/healthz", child)
    return child, url


def start_worker(
    env: Mapping[str, str],
    log_path: Path,
    concurrency: int,
    poll: float | None = None,
    cwd: Path = REPO,
) -> Child:
    """``bridge worker --concurrency N``; ``cwd`` another checkout runs that one's worker."""
    argv = [sys.executable, "-m", "bridge.cli", "worker", "--concurrency", str(concurrency)]
    if poll is not None:
        argv += ["--poll", str(poll)]
    return Child(argv, env, log_path, cwd=cwd)


def start_sandbox(
    log_path: Path, latency_ms: int = 0, connection: str = "keep-alive"
) -> tuple[Child, str]:
    """The sandbox iVvy in a process of its own, with ``latency_ms`` on every API call.

    ``connection="close"`` makes it answer ``Connection: close`` to every request (as it did
    before it kept connections alive), for comparisons.
    """
    port = free_port()
    argv = [sys.executable, "-m", "bench.sandbox_process", "--port", str(port)]
    child = Child([*argv, "--connection", connection], {}, log_path)
    url = f"http://127.0.0.1:{port}"
    wait_until_up(url + "/_sandbox/faults", child)
    if latency_ms:
        requests.post(f"{url}/_sandbox/faults", json={"latency_ms": latency_ms}, timeout=5)
    return child, url


def rss_mib(pid: int) -> float:
    """Resident memory of a process, from /proc/<pid>/status (VmRSS)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    raise RuntimeError(f"no VmRSS for process {pid}")
