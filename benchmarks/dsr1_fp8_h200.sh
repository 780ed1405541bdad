#!/usr/bin/env bash
# dsr1 fp8 on H200, SGLang (REFERENCE-SEMANTICS §8.2: no framework suffix). Launch flags as SGLang documents them.
set -euo pipefail
# shellcheck source=benchmark_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/benchmark_lib.sh"
check_env_vars MODEL TP EP_SIZE DP_ATTENTION CONC ISL OSL MAX_MODEL_LEN RANDOM_RANGE_RATIO RESULT_FILENAME PORT
DP_FLAGS=()
if [ "$DP_ATTENTION" = true ]; then DP_FLAGS=(--enable-dp-attention --dp-size "$TP"); fi

SERVER_LOG="$PWD/server.log"
python3 -m sglang.launch_server --model-path "$MODEL" --host 0.0.0.0 --port "$PORT" \
  --tp "$TP" --ep-size "$EP_SIZE" --context-length "$MAX_MODEL_LEN" \
  --max-running-requests "$CONC" --trust-remote-code "${DP_FLAGS[@]}" > "$SERVER_LOG" 2>&1 &
SERVER_PID=$!
trap 'stop_server "$SERVER_PID"' EXIT
wait_for_server_ready --port "$PORT" --server-log "$SERVER_LOG" --server-pid "$SERVER_PID"

run_benchmark_serving --model "$MODEL" --port "$PORT" --backend vllm \
  --input-len "$ISL" --output-len "$OSL" --random-range-ratio "$RANDOM_RANGE_RATIO" \
  --num-prompts "$((CONC * 10))" --max-concurrency "$CONC" \
  --result-filename "$RESULT_FILENAME" --result-dir "$PWD" --server-pid "$SERVER_PID"

if [ "${RUN_EVAL:-false}" = true ]; then
  run_eval --framework lm-eval --port "$PORT" --concurrent-requests "$CONC"
fi
