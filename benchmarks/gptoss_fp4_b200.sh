#!/usr/bin/env bash
# gptoss fp4 on B200, vLLM (REFERENCE-SEMANTICS §8.2: no framework suffix). Launch flags as vLLM documents them.
set -euo pipefail
# shellcheck source=benchmark_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/benchmark_lib.sh"
check_env_vars MODEL TP EP_SIZE DP_ATTENTION CONC ISL OSL MAX_MODEL_LEN RANDOM_RANGE_RATIO RESULT_FILENAME PORT

SERVER_LOG="$PWD/server.log"
vllm serve "$MODEL" --host 0.0.0.0 --port "$PORT" \
  --tensor-parallel-size "$TP" --max-model-len "$MAX_MODEL_LEN" \
  --max-num-seqs "$CONC" --gpu-memory-utilization 0.9 --no-enable-prefix-caching > "$SERVER_LOG" 2>&1 &
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
