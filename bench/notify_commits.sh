#!/usr/bin/env bash
# What a NOTIFY inside a durable commit costs concurrent commits, on PostgreSQL alone (pgbench).
#
#   bench/notify_commits.sh [clients] [seconds] [rounds]     # defaults: 8 10 2
#
# Four transaction scripts, alternating within each round, on a scratch table in the database
# `test` (PostgreSQL at 127.0.0.1:5432, trust auth), each insert about the size of a webhook:
#   plain         one autocommitted insert (the door's accept without a notify);
#   notify-inside the insert and pg_notify in one statement (the door's accept before
#                 store.job_notices): the commit takes PostgreSQL's notify lock;
#   notify-after  the insert, then a second statement that notifies with synchronous_commit
#                 off (one notice per accept, sent the way store.job_notices sends it);
#   two-plain     the insert, then a second statement that does nothing (the round trip alone).
set -euo pipefail
clients=${1:-8} seconds=${2:-10} rounds=${3:-2}
conn=(-h 127.0.0.1 -U postgres)
dir=$(mktemp -d)
trap 'rm -rf "$dir"; psql "${conn[@]}" -d test -qc "DROP TABLE IF EXISTS bench_notify_commits"' EXIT
psql "${conn[@]}" -d test -qc "SET client_min_messages TO warning; DROP TABLE IF EXISTS bench_notify_commits;
  CREATE TABLE bench_notify_commits (id bigserial PRIMARY KEY, body text)"
insert="WITH i AS (INSERT INTO bench_notify_commits (body) VALUES (repeat('x', 2000)))"
echo "$insert SELECT 1;" >"$dir/plain.sql"
echo "$insert SELECT pg_notify('bench_notify_commits', '');" >"$dir/notify-inside.sql"
printf '%s SELECT 1;\n%s\n' "$insert" \
  "SELECT set_config('synchronous_commit', 'off', true), pg_notify('bench_notify_commits', '');" \
  >"$dir/notify-after.sql"
printf '%s SELECT 1;\nSELECT 1;\n' "$insert" >"$dir/two-plain.sql"
echo "pgbench, $clients clients, $seconds s each, load $(cut -d' ' -f1 /proc/loadavg)"
for round in $(seq 1 "$rounds"); do
  for script in plain notify-inside notify-after two-plain; do
    tps=$(pgbench "${conn[@]}" -n -c "$clients" -j 2 -T "$seconds" -f "$dir/$script.sql" test \
      2>/dev/null | sed -n 's/^tps = \([0-9.]*\).*/\1/p')
    echo "round $round $script: $tps transactions/s"
  done
done
