#!/usr/bin/env bash
# Starts munged for the Slurm test cluster (SLURM-LOCAL.md): key, folders, daemon.
set -euo pipefail
if [ ! -s /etc/munge/munge.key ]; then
  mkdir -p /etc/munge
  dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
fi
chown munge:munge /etc/munge/munge.key
chmod 0400 /etc/munge/munge.key
for dir in /run/munge /var/lib/munge /var/log/munge; do
  mkdir -p "$dir"
  chown munge:munge "$dir"
done
munged --force 2>/dev/null || munged --force
