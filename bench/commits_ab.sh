#!/usr/bin/env bash
# Ingest (and CPU per webhook and per job) of several commits, alternating, in one run.
#
#   bench/commits_ab.sh sqlite 2 92e3dc8 85ebd13 .     # db, cycles, then commits ("." = this tree)
#
# Each commit is checked out (detached) under a temporary folder and measured with its own
# bench/ingest.py, bench/profile_ingest.py and bench/profile_drain.py, using this checkout's
# venv; the commits take turns within each cycle, so a busy neighbour weighs on all of them.
# Set WEB_WORKER_CLASS to compare one worker class across commits.
set -euo pipefail
db=$1 cycles=$2
shift 2
here=$(cd "$(dirname "$0")/.." && pwd)
py=$here/.venv/bin/python
trees=$(mktemp -d)
trap 'for t in "$trees"/*; do git -C "$here" worktree remove --force "$t" 2>/dev/null || true; done; rm -rf "$trees"' EXIT
for rev in "$@"; do
  [ "$rev" = . ] || git -C "$here" worktree add -q --detach "$trees/$rev" "$rev"
done
for cycle in $(seq 1 "$cycles"); do
  for rev in "$@"; do
    dir=$here
    [ "$rev" = . ] || dir=$trees/$rev
    echo "=== cycle $cycle $rev $(date -u +%T) load $(cut -d' ' -f1 /proc/loadavg)"
    (cd "$dir" && BENCH_COMMIT=$rev "$py" bench/ingest.py --db "$db" --rounds 2 --seconds 10 \
      --max-rps 1500 | grep -E '^(round|bare|bridge p99)')
    (cd "$dir" && "$py" bench/profile_ingest.py --requests 600 --runs 3 --db "$db" | grep CPU)
    (cd "$dir" && "$py" bench/profile_drain.py --jobs 300 --runs 3 --db "$db" | grep CPU)
  done
done
