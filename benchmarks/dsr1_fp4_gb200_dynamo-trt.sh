#!/usr/bin/env bash
# DeepSeek-R1-0528 FP4 on GB200, disaggregated with Dynamo + TensorRT-LLM (sweep
# dsr1-fp4-gb200-dynamo-trt). As REFERENCE-SEMANTICS §8.2 describes for the GB200 srtctl path,
# the job is an srtctl recipe: the CONFIG_FILE additional setting when present, otherwise the
# conventional recipe path of srtctl_recipe under SRT_RECIPES_DIR. srtctl submits and runs the
# Slurm job (workers, router, load generator); its results_concurrency_*.json files are copied
# as <RESULT_FILENAME>_<folder>_conc<c>_gpus_<n>_ctx_<p>_gen_<d>.json.
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
if [ "$FRAMEWORK" != dynamo-trt ]; then
  unsupported_framework "$0"
fi
run_srtctl_recipe "$(srtctl_recipe gb200)"
