#!/usr/bin/env bash
# Site launcher for the `gb200-rack_*` nodes: a Slurm + enroot/pyxis GB200 rack, 4 GPUs per
# node. Multi-node jobs (benchmarks/*_gb200_dynamo-*.sh) are srtctl recipes that submit their
# own Slurm job, so the script runs right here on the login node and waits for it. Single-node
# jobs go through runners/launch_slurm-enroot.sh (salloc with gres gpu:TP on one node).
# Site settings (override through the environment): partition, squash folder, HF cache.
set -euo pipefail
here="$(dirname "${BASH_SOURCE[0]}")"
: "${IX_BENCHMARK_SCRIPT:?set by ix run}"
export SLURM_PARTITION="${SLURM_PARTITION:-gb200}"
export IX_SQUASH_DIR="${IX_SQUASH_DIR:-$HOME/.cache/ix/squash}"
export HF_HUB_CACHE="${HF_HUB_CACHE:-/mnt/hf_hub_cache/}"
export GPUS_PER_NODE=4
if [ "${IS_MULTINODE:-false}" = true ]; then
  exec bash "$IX_BENCHMARK_SCRIPT"
fi
if [ "${TP:-0}" -gt "$GPUS_PER_NODE" ]; then
  echo "error: a single-node job on ${RUNNER_NAME:-gb200-rack} has at most $GPUS_PER_NODE GPUs (TP=$TP)" >&2
  exit 1
fi
exec bash "$here/launch_slurm-enroot.sh"
