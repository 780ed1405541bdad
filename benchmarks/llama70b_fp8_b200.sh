#!/usr/bin/env bash
# Llama 3.3 70B FP8 on B200 with vLLM or SGLang (sweeps llama70b-fp8-b200-{vllm,sglang}):
# §8.2 names both without a framework suffix, so FRAMEWORK picks the engine.
# After the environment contract (REFERENCE-SEMANTICS §8.1) is checked, serve_single_node
# starts the engine, waits for /health, runs `ix bench serve`, or with EVAL_ONLY=true the eval.
set -euo pipefail
# shellcheck source=benchmark_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/benchmark_lib.sh"
check_env_vars "${SINGLE_NODE_VARS[@]}" FRAMEWORK
case "${FRAMEWORK:-}" in
  vllm) serve_single_node vllm --kv-cache-dtype fp8 ;;
  sglang) serve_single_node sglang --kv-cache-dtype fp8_e4m3 ;;
  *) unsupported_framework "$0" ;;
esac
