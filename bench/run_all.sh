#!/usr/bin/env bash
# Every benchmark, one after the other, on SQLite and PostgreSQL (about 40 minutes on 2 cores,
# most of it memory.py). Results are appended to bench/results/*.jsonl.
set -euo pipefail
cd "$(dirname "$0")/.."
py=.venv/bin/python
for db in sqlite postgres; do
  $py bench/ingest.py --db "$db"
  $py bench/drain.py --db "$db" --seconds 10
  $py bench/latency.py --db "$db"
done
for db in sqlite postgres; do
  $py bench/memory.py --db "$db"
done
