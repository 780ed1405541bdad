#!/usr/bin/env bash
# Site launcher for the `mi355x-lab_*` nodes: two 8-GPU AMD MI355X hosts that run Docker for
# single-node jobs (runners/launch_docker-rocm.sh) and form a Slurm + enroot/pyxis partition
# for the disaggregated multi-node jobs (runners/launch_slurm-enroot.sh submits the script
# with sbatch, one node per worker). A multi-node job with a CONFIG_FILE setting is an srtctl
# recipe that submits its own Slurm job, so its script runs right here.
# Site settings (override through the environment): partition, squash folder, HF cache.
set -euo pipefail
here="$(dirname "${BASH_SOURCE[0]}")"
: "${IX_BENCHMARK_SCRIPT:?set by ix run}"
export HF_HUB_CACHE="${HF_HUB_CACHE:-/mnt/hf_hub_cache/}"
if [ "${IS_MULTINODE:-false}" != true ]; then
  exec bash "$here/launch_docker-rocm.sh"
fi
export SLURM_PARTITION="${SLURM_PARTITION:-mi355x}"
export IX_SQUASH_DIR="${IX_SQUASH_DIR:-$HOME/.cache/ix/squash}"
export GPUS_PER_NODE=8
if [ -n "${CONFIG_FILE:-}" ]; then
  exec bash "$IX_BENCHMARK_SCRIPT"
fi
exec bash "$here/launch_slurm-enroot.sh"
