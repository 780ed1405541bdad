#!/usr/bin/env bash
# Installs Debian's PostgreSQL server binaries for the results database tests (SQLite is built
# into `ix`: rusqlite's `bundled` feature). Idempotent. The
# tests start their own throwaway cluster (initdb + pg_ctl in a temp dir, on a free loopback
# port, as the `postgres` user when run as root); the packaged cluster is not used, so it is
# stopped if the install started it.
set -euo pipefail

found=""
for initdb in /usr/lib/postgresql/*/bin/initdb; do
  [ -x "$initdb" ] && found="$initdb"
done
if [ -n "$found" ]; then
  echo "ci/postgres: $found present" >&2
else
  echo "ci/postgres: installing postgresql (for the results database tests)" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends postgresql >/dev/null
  if command -v pg_ctlcluster >/dev/null; then
    for cluster in /etc/postgresql/*/main; do
      [ -d "$cluster" ] || continue
      version="$(basename "$(dirname "$cluster")")"
      pg_ctlcluster "$version" main stop 2>/dev/null || true
    done
  fi
fi
