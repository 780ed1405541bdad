#!/usr/bin/env bash
# gpt-oss-120b (MXFP4) on MI355X with ROCm vLLM (sweep gptoss-fp4-mi355x-vllm).
# After the environment contract (REFERENCE-SEMANTICS §8.1) is checked, serve_single_node
# starts the engine, waits for /health, runs `ix bench serve`, or with EVAL_ONLY=true the eval.
set -euo pipefail
# shellcheck source=benchmark_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/benchmark_lib.sh"
check_env_vars "${SINGLE_NODE_VARS[@]}" FRAMEWORK
case "${FRAMEWORK:-vllm}" in
  vllm)
    export VLLM_ROCM_USE_AITER=1
    serve_single_node vllm
    ;;
  *) unsupported_framework "$0" ;;
esac
