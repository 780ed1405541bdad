#!/usr/bin/env bash
# DeepSeek-R1-0528 FP8 on MI355X, prefill/decode disaggregated with SGLang and its PD router
# (sweep dsr1-fp8-mi355x-sglang-disagg). Without CONFIG_FILE it runs as the batch script of
# the Slurm allocation runners/launch_mi355x-lab.sh makes (one 8-GPU node per worker): workers
# through pyxis in the task's image, the router on the first node, one `ix bench serve` run
# per CONC_LIST value. With a CONFIG_FILE additional setting it submits that srtctl recipe.
set -euo pipefail
# Under sbatch this file runs from Slurm's spool folder, so the library is found through the
# repository (IX_REPO, set by ix run) when it is there.
here="$(dirname "${BASH_SOURCE[0]}")"
if [ -n "${IX_REPO:-}" ] && [ -f "$IX_REPO/benchmarks/benchmark_lib.sh" ]; then
  here="$IX_REPO/benchmarks"
fi
# shellcheck source=benchmark_lib.sh
source "$here/benchmark_lib.sh"
check_env_vars "${MULTI_NODE_VARS[@]}"
no_eval_mode "$0"
if [ "$FRAMEWORK" != sglang-disagg ]; then
  unsupported_framework "$0"
fi
if [ -n "${CONFIG_FILE:-}" ]; then
  run_srtctl_recipe "$(srtctl_recipe mi355x)"
  exit 0
fi
export SGLANG_USE_AITER=1
GPUS_PER_NODE=8 run_sglang_disagg --mem-fraction-static 0.8
