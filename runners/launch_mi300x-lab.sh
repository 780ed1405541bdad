#!/usr/bin/env bash
# Site launcher for the `mi300x-lab_*` nodes: Docker hosts with 8 AMD MI300X (all GPUs go to the container).
# Single-node only; hands over to runners/launch_docker-rocm.sh with this site's settings.
set -euo pipefail
here="$(dirname "${BASH_SOURCE[0]}")"
if [ "${IS_MULTINODE:-false}" = true ]; then
  echo "error: ${RUNNER_NAME:-this node} runs single-node jobs only" >&2
  exit 1
fi
export HF_HUB_CACHE="${HF_HUB_CACHE:-/mnt/hf_hub_cache/}"
exec bash "$here/launch_docker-rocm.sh"
