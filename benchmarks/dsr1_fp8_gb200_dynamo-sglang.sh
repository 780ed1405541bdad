#!/usr/bin/env bash
# DeepSeek-R1-0528 FP8 on GB200, disaggregated with Dynamo + SGLang (sweep
# dsr1-fp8-gb200-dynamo-sglang), through an srtctl recipe (the CONFIG_FILE additional setting,
# else the conventional path of srtctl_recipe). Per-worker settings such as
# SGLANG_DEEPEP_MODE arrive as environment variables of srtctl; the recipe decides what the
# workers get. The recipe names the container (with the Dynamo runtime srtctl expects).
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
if [ "$FRAMEWORK" != dynamo-sglang ]; then
  unsupported_framework "$0"
fi
run_srtctl_recipe "$(srtctl_recipe gb200)"
