#!/usr/bin/env bash
# Llama 3.3 70B FP8 on H200 with vLLM (sweep llama70b-fp8-h200-vllm).
# After the environment contract (REFERENCE-SEMANTICS §8.1) is checked, serve_single_node
# starts the engine, waits for /health, runs `ix bench serve`, or with EVAL_ONLY=true the eval.
set -euo pipefail
# shellcheck source=benchmark_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/benchmark_lib.sh"
check_env_vars "${SINGLE_NODE_VARS[@]}" FRAMEWORK
case "${FRAMEWORK:-vllm}" in
  vllm) serve_single_node vllm --kv-cache-dtype fp8 ;;
  *) unsupported_framework "$0" ;;
esac
