#!/usr/bin/env bash
# Qwen3 235B-A22B BF16 on H200 with SGLang (sweep qwen3-bf16-h200-sglang); ep/dpa points
# use SGLang's expert parallelism and DP attention.
# After the environment contract (REFERENCE-SEMANTICS §8.1) is checked, serve_single_node
# starts the engine, waits for /health, runs `ix bench serve`, or with EVAL_ONLY=true the eval.
set -euo pipefail
# shellcheck source=benchmark_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/benchmark_lib.sh"
check_env_vars "${SINGLE_NODE_VARS[@]}" FRAMEWORK
case "${FRAMEWORK:-sglang}" in
  sglang) serve_single_node sglang --mem-fraction-static 0.85 ;;
  *) unsupported_framework "$0" ;;
esac
