#!/usr/bin/env bash
# Installs what the Slurm executor tests need (SLURM-LOCAL.md): Debian's slurm-wlm and munge.
# Idempotent. The tests start and stop their own one-node cluster; nothing is started here.
set -euo pipefail
if command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v munged >/dev/null; then
  echo "ci/slurm: slurm-wlm and munge already installed" >&2
  exit 0
fi
echo "ci/slurm: installing slurm-wlm and munge" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq slurm-wlm munge >/dev/null
echo "ci/slurm: done" >&2
