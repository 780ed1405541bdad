#!/usr/bin/env bash
# Demo sweep, frameworks sim*: runs the whole chain
# without a GPU against `ix bench sim-server`.
set -euo pipefail
# shellcheck source=benchmark_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/benchmark_lib.sh"
check_env_vars MODEL TP CONC ISL OSL RANDOM_RANGE_RATIO RESULT_FILENAME PORT

SERVER_LOG="$PWD/server.log"
"$IX_BIN" bench sim-server --host 127.0.0.1 --port "$PORT" > "$SERVER_LOG" 2>&1 &
SERVER_PID=$!
trap 'stop_server "$SERVER_PID"' EXIT
wait_for_server_ready --port "$PORT" --server-log "$SERVER_LOG" --server-pid "$SERVER_PID" --sleep-interval 0.2

run_benchmark_serving --model "$MODEL" --port "$PORT" --backend vllm \
  --input-len "$ISL" --output-len "$OSL" --random-range-ratio "$RANDOM_RANGE_RATIO" \
  --num-prompts "$((CONC * 10))" --max-concurrency "$CONC" \
  --result-filename "$RESULT_FILENAME" --result-dir "$PWD" --server-pid "$SERVER_PID"
