#!/usr/bin/env bash
# Llama 3.3 70B FP8 on B200 with TensorRT-LLM's trtllm-serve (sweep llama70b-fp8-b200-trt);
# the extra LLM-API options YAML is written at run time by start_trtllm.
# After the environment contract (REFERENCE-SEMANTICS §8.1) is checked, serve_single_node
# starts the engine, waits for /health, runs `ix bench serve`, or with EVAL_ONLY=true the eval.
set -euo pipefail
# shellcheck source=benchmark_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/benchmark_lib.sh"
check_env_vars "${SINGLE_NODE_VARS[@]}" FRAMEWORK
case "${FRAMEWORK:-trt}" in
  trt) serve_single_node trt ;;
  *) unsupported_framework "$0" ;;
esac
