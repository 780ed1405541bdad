#!/usr/bin/env bash
# Launcher for Slurm clusters with enroot + pyxis (`slurm-enroot_*` nodes).
# Single-node: allocate TP GPUs, import the image into a squash file (named from the image
# with / : @ # replaced by _; re-imported when corrupt), run the script in the container.
# Multi-node (IS_MULTINODE=true): submit the script with sbatch across PREFILL/DECODE nodes
# and wait for it; result files are the script's job.
set -euo pipefail
: "${IX_BENCHMARK_SCRIPT:?set by ix run}"
: "${IMAGE:?}" "${RESULT_FILENAME:?}"
repo="${IX_REPO:-$PWD}"
partition_args=()
if [ -n "${SLURM_PARTITION:-}" ]; then
  partition_args=(--partition "$SLURM_PARTITION")
fi
squash_dir="${IX_SQUASH_DIR:-$HOME/.cache/ix/squash}"
mkdir -p "$squash_dir"
squash_name="${IMAGE//[\/:@#]/_}"
squash="$squash_dir/$squash_name.sqsh"

if [ "${IS_MULTINODE:-false}" = true ]; then
  : "${PREFILL_NUM_WORKERS:?}" "${DECODE_NUM_WORKERS:?}"
  nodes=$((PREFILL_NUM_WORKERS + DECODE_NUM_WORKERS))
  job_id=$(sbatch --parsable --wait "${partition_args[@]}" --nodes="$nodes" --exclusive \
    --export=ALL --output="$PWD/slurm-%j.log" "$IX_BENCHMARK_SCRIPT")
  echo "slurm job $job_id finished"
  exit 0
fi

: "${TP:?}"
job_id=$(salloc --no-shell --parsable "${partition_args[@]}" --nodes=1 --gres="gpu:$TP" \
  --exclusive --time=180 2>/dev/null | tail -n 1)
release() { scancel "$job_id" 2>/dev/null || true; }
trap release EXIT
if ! srun --jobid="$job_id" --ntasks=1 unsquashfs -l "$squash" >/dev/null 2>&1; then
  rm -f "$squash"
  srun --jobid="$job_id" --ntasks=1 enroot import -o "$squash" "docker://$IMAGE"
fi
srun --jobid="$job_id" --ntasks=1 --container-image="$squash" \
  --container-mounts="$PWD:/workspace/,$repo:/ix/repo" --container-mount-home \
  --container-workdir=/workspace/ --no-container-entrypoint --export=ALL \
  bash "/ix/repo/${IX_BENCHMARK_SCRIPT#"$repo"/}"
