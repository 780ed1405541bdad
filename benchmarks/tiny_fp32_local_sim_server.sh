#!/usr/bin/env bash
# Demo sweep, frameworks sim*: runs the whole chain without a GPU against `ix bench sim-server`
# (IX_BIN, set by `ix run`, is the ix binary). The server picks a free port (--port 0) and
# prints it; the framework picks its simulated speed. Prompts use the word tokenizer that ships
# in benchmarks/data/.
set -euo pipefail
here="$(dirname "${BASH_SOURCE[0]}")"
# shellcheck source=benchmark_lib.sh
source "$here/benchmark_lib.sh"
check_env_vars MODEL TP CONC ISL OSL RANDOM_RANGE_RATIO RESULT_FILENAME FRAMEWORK

case "$FRAMEWORK" in
  sim-fast) speed=(--ttft-ms 5 --itl-ms 1) ;;
  sim-slow) speed=(--ttft-ms 40 --itl-ms 8) ;;
  *) speed=(--ttft-ms 15 --itl-ms 3) ;;
esac

SERVER_LOG="$PWD/server.log"
: > "$SERVER_LOG"  # exists before the background server's redirection opens it
"$IX_BIN" bench sim-server --host 127.0.0.1 --port 0 --model "$MODEL" "${speed[@]}" > "$SERVER_LOG" 2>&1 &
SERVER_PID=$!
trap 'stop_server "$SERVER_PID"' EXIT

port=""
for _ in $(seq 1 100); do
  port="$(sed -n 's|.*listening on http://127\.0\.0\.1:\([0-9]*\).*|\1|p' "$SERVER_LOG")"
  [ -n "$port" ] && break
  if ! kill -0 "$SERVER_PID" 2>/dev/null; then
    echo "error: the simulator exited before it was ready; its log:" >&2
    cat "$SERVER_LOG" >&2
    exit 1
  fi
  sleep 0.05
done
if [ -z "$port" ]; then
  echo "error: the simulator printed no port within 5 s" >&2
  exit 1
fi
wait_for_server_ready --port "$port" --server-log "$SERVER_LOG" --server-pid "$SERVER_PID" --sleep-interval 0.1

if eval_only; then
  run_eval --framework "${EVAL_FRAMEWORK:-lm-eval}" --port "$port" --concurrent-requests "${EVAL_CONC:-$CONC}"
  exit 0
fi
run_benchmark_serving --model "$MODEL" --port "$port" --backend vllm \
  --input-len "$ISL" --output-len "$OSL" --random-range-ratio "$RANDOM_RANGE_RATIO" \
  --num-prompts "$((CONC * 10))" --max-concurrency "$CONC" \
  --tokenizer "$here/data/words-tokenizer.json" \
  --result-filename "$RESULT_FILENAME" --result-dir "$PWD" --server-pid "$SERVER_PID"
