#!/usr/bin/env bash
# gpt-oss-120b on MI355X with ROCm ATOM (sweep gptoss-fp4-mi355x-atom; §8.2: _atom suffix on
# MI355X). ATOM reads its gpt-oss switch from the environment.
# After the environment contract (REFERENCE-SEMANTICS §8.1) is checked, serve_single_node
# starts the engine, waits for /health, runs `ix bench serve`, or with EVAL_ONLY=true the eval.
set -euo pipefail
# shellcheck source=benchmark_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/benchmark_lib.sh"
check_env_vars "${SINGLE_NODE_VARS[@]}" FRAMEWORK
case "${FRAMEWORK:-atom}" in
  atom)
    export ATOM_GPT_OSS_MODEL=1
    serve_single_node atom --kv_cache_dtype fp8
    ;;
  *) unsupported_framework "$0" ;;
esac
