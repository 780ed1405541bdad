#!/usr/bin/env bash
# CPU benchmark against llama.cpp's llama-server (REAL-SERVER.md). LLAMA_SERVER (the server
# binary), LLAMA_MODEL (a GGUF file) and LLAMA_TOKENIZER (its tokenizer.json) may be given;
# otherwise ci/llama.sh builds llama.cpp and the tiny model on first use and they are taken
# from its cache (${IX_LLAMA_DIR:-${IX_CACHE:-$HOME/.cache/ix}/llama-0.3.36}).
set -euo pipefail
here="$(dirname "${BASH_SOURCE[0]}")"
# shellcheck source=benchmark_lib.sh
source "$here/benchmark_lib.sh"

llama_dir="${IX_LLAMA_DIR:-${IX_CACHE:-$HOME/.cache/ix}/llama-0.3.36}"
if [ -z "${LLAMA_SERVER:-}" ] || [ -z "${LLAMA_MODEL:-}" ]; then
  if [ ! -x "$llama_dir/bin/llama-server" ] || [ ! -f "$llama_dir/model/tiny.gguf" ]; then
    echo "llama.cpp is not built yet: running ci/llama.sh (first use only; about 5 minutes on 2 cores)" >&2
  fi
  bash "${IX_REPO:-$here/..}/ci/llama.sh"
  LLAMA_SERVER="$llama_dir/bin/llama-server"
  LLAMA_MODEL="$llama_dir/model/tiny.gguf"
fi
LLAMA_TOKENIZER="${LLAMA_TOKENIZER:-$(dirname "$LLAMA_MODEL")/tokenizer/tokenizer.json}"
check_env_vars MODEL CONC ISL OSL RANDOM_RANGE_RATIO RESULT_FILENAME PORT LLAMA_SERVER LLAMA_MODEL LLAMA_TOKENIZER

SERVER_LOG="$PWD/server.log"
: > "$SERVER_LOG"  # exists before the background server's redirection opens it
"$LLAMA_SERVER" -m "$LLAMA_MODEL" --alias "$MODEL" --host 127.0.0.1 --port "$PORT" \
  -c 4096 -np "$CONC" -t "${LLAMA_THREADS:-1}" > "$SERVER_LOG" 2>&1 &
SERVER_PID=$!
trap 'stop_server "$SERVER_PID"' EXIT
wait_for_server_ready --port "$PORT" --server-log "$SERVER_LOG" --server-pid "$SERVER_PID" --sleep-interval 0.2

if eval_only; then
  run_eval --framework "${EVAL_FRAMEWORK:-lm-eval}" --port "$PORT" --concurrent-requests "${EVAL_CONC:-$CONC}"
  exit 0
fi
run_benchmark_serving --model "$MODEL" --port "$PORT" --backend openai \
  --input-len "$ISL" --output-len "$OSL" --random-range-ratio "$RANDOM_RANGE_RATIO" \
  --num-prompts "$((CONC * 4))" --max-concurrency "$CONC" --tokenizer "$LLAMA_TOKENIZER" \
  --result-filename "$RESULT_FILENAME" --result-dir "$PWD" --server-pid "$SERVER_PID"
