#!/usr/bin/env bash
# Qwen3 235B-A22B BF16 on B200 with vLLM (sweep qwen3-bf16-b200-vllm); dpa points use vLLM's
# data-parallel attention with expert-parallel MoE layers.
# After the environment contract (REFERENCE-SEMANTICS §8.1) is checked, serve_single_node
# starts the engine, waits for /health, runs `ix bench serve`, or with EVAL_ONLY=true the eval.
set -euo pipefail
# shellcheck source=benchmark_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/benchmark_lib.sh"
check_env_vars "${SINGLE_NODE_VARS[@]}" FRAMEWORK
case "${FRAMEWORK:-vllm}" in
  vllm) serve_single_node vllm ;;
  *) unsupported_framework "$0" ;;
esac
