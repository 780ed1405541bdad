#!/usr/bin/env bash
# Benchmark of the results database; prints the figures recorded in BENCHMARKS.md.
#
#   bench/history.sh [IX_BINARY] [RECORDS]     (default: target/release/ix, 100,000 records)
#
# For SQLite (a file in a temporary folder) and for PostgreSQL (a throwaway cluster started
# here with Debian's initdb/pg_ctl on a free loopback port, fsync on, as the `postgres` user
# when run as root; ci/postgres.sh installs it): times `ix results history-bench`, which
# ingests RECORDS synthetic records (one run, one transaction) into an empty database, then
# ingests two 10,000-point runs and times reading both back plus comparing them.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
ix="$(realpath "${1:-$root/target/release/ix}")"
records="${2:-100000}"
work="$(mktemp -d)"
pg_bin=""
for dir in /usr/lib/postgresql/*/bin; do
  [ -x "$dir/initdb" ] && pg_bin="$dir"
done
as_pg=()
if [ "$(id -u)" = 0 ]; then as_pg=(runuser -u postgres --); fi
pg_started=""
cleanup() {
  if [ -n "$pg_started" ]; then "${as_pg[@]}" "$pg_bin/pg_ctl" -D "$work/pg" -m fast -w stop >/dev/null 2>&1 || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
chmod 755 "$work"

echo "== SQLite ($work/results.sqlite)"
"$ix" results history-bench --records "$records" --results-db "$work/results.sqlite"

if [ -z "$pg_bin" ]; then
  echo "PostgreSQL not installed (ci/postgres.sh): skipped" >&2
  exit 0
fi
mkdir "$work/pg"
if [ "${#as_pg[@]}" -gt 0 ]; then chown postgres:postgres "$work/pg"; fi
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
"${as_pg[@]}" "$pg_bin/initdb" -D "$work/pg" -U ix --auth=trust -E UTF8 >/dev/null
"${as_pg[@]}" "$pg_bin/pg_ctl" -D "$work/pg" -l "$work/pg/server.log" -w \
  -o "-p $port -k $work/pg -c listen_addresses=127.0.0.1" start >/dev/null
pg_started=1
echo "== PostgreSQL $("$pg_bin/postgres" --version | awk '{print $3}') (127.0.0.1:$port, default durability settings)"
"$ix" results history-bench --records "$records" --results-db "postgres://ix@127.0.0.1:$port/postgres"
