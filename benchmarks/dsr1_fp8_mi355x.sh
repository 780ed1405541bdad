#!/usr/bin/env bash
# DeepSeek-R1-0528 FP8 on MI355X with ROCm SGLang (sweep dsr1-fp8-mi355x-sglang); the ep8 dpa
# points use SGLang's expert parallelism and DP attention.
# After the environment contract (REFERENCE-SEMANTICS §8.1) is checked, serve_single_node
# starts the engine, waits for /health, runs `ix bench serve`, or with EVAL_ONLY=true the eval.
set -euo pipefail
# shellcheck source=benchmark_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/benchmark_lib.sh"
check_env_vars "${SINGLE_NODE_VARS[@]}" FRAMEWORK
case "${FRAMEWORK:-sglang}" in
  sglang)
    export SGLANG_USE_AITER=1
    serve_single_node sglang --mem-fraction-static 0.8
    ;;
  *) unsupported_framework "$0" ;;
esac
