#!/usr/bin/env bash
# Shared helpers for benchmark scripts (sourced, never run). The contract is
# REFERENCE-SEMANTICS §8.4: check_env_vars, wait_for_server_ready, run_benchmark_serving,
# run_eval. The load generator is `ix bench serve` (same flags as the reference client).
# Every value stays in a variable or an argv element; nothing is spliced into shell text.

IX_BIN="${IX_BIN:-ix}"

# check_env_vars NAME...: exits 1 listing every NAME that is unset or empty.
check_env_vars() {
  local missing=()
  local name
  for name in "$@"; do
    if [ -z "${!name:-}" ]; then
      missing+=("$name")
    fi
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    echo "error: missing or empty environment variables:" >&2
    printf '  - %s\n' "${missing[@]}" >&2
    exit 1
  fi
}

# wait_for_server_ready --port P --server-log F --server-pid PID [--sleep-interval S]
# Polls http://127.0.0.1:P/health until it answers; exits 1 if the server dies first.
wait_for_server_ready() {
  local port="" log="" pid="" interval=5
  while [ "$#" -gt 0 ]; do
    case "$1" in
      --port) port="$2"; shift 2 ;;
      --server-log) log="$2"; shift 2 ;;
      --server-pid) pid="$2"; shift 2 ;;
      --sleep-interval) interval="$2"; shift 2 ;;
      *) echo "wait_for_server_ready: unknown flag $1" >&2; return 1 ;;
    esac
  done
  if [ -z "$port" ] || [ -z "$log" ] || [ -z "$pid" ]; then
    echo "wait_for_server_ready: --port, --server-log and --server-pid are required" >&2
    return 1
  fi
  until curl --silent --fail --output /dev/null "http://127.0.0.1:${port}/health"; do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "error: the server (pid $pid) exited before it was ready; its log:" >&2
      tail -n 50 "$log" >&2 || true
      exit 1
    fi
    sleep "$interval"
  done
}

# run_benchmark_serving --model M --port P --backend B --input-len I --output-len O
#   --random-range-ratio R --num-prompts N --max-concurrency C --result-filename F
#   --result-dir D [--use-chat-template] [--tokenizer T] [--server-pid PID]
# Runs `ix bench serve`; with --server-pid the client is stopped if the server dies.
run_benchmark_serving() {
  local model="" port="" backend="" isl="" osl="" ratio="" prompts="" conc="" file="" dir=""
  local chat=() tok=() server_pid=""
  while [ "$#" -gt 0 ]; do
    case "$1" in
      --model) model="$2"; shift 2 ;;
      --port) port="$2"; shift 2 ;;
      --backend) backend="$2"; shift 2 ;;
      --input-len) isl="$2"; shift 2 ;;
      --output-len) osl="$2"; shift 2 ;;
      --random-range-ratio) ratio="$2"; shift 2 ;;
      --num-prompts) prompts="$2"; shift 2 ;;
      --max-concurrency) conc="$2"; shift 2 ;;
      --result-filename) file="$2"; shift 2 ;;
      --result-dir) dir="$2"; shift 2 ;;
      --use-chat-template) chat=(--use-chat-template); shift ;;
      --tokenizer) tok=(--tokenizer "$2"); shift 2 ;;
      --server-pid) server_pid="$2"; shift 2 ;;
      --bench-serving-dir) shift 2 ;;
      *) echo "run_benchmark_serving: unknown flag $1" >&2; return 1 ;;
    esac
  done
  local flag
  for flag in model port backend isl osl ratio prompts conc file dir; do
    if [ -z "${!flag}" ]; then
      echo "run_benchmark_serving: missing value for $flag" >&2
      return 1
    fi
  done
  "$IX_BIN" bench serve \
    --model "$model" --backend "$backend" --base-url "http://127.0.0.1:${port}" \
    --dataset-name random --random-input-len "$isl" --random-output-len "$osl" \
    --random-range-ratio "$ratio" --num-prompts "$prompts" --max-concurrency "$conc" \
    --request-rate inf --ignore-eos --save-result --num-warmups "$((2 * conc))" \
    --percentile-metrics ttft,tpot,itl,e2el \
    --result-dir "$dir" --result-filename "${file}.json" "${chat[@]}" "${tok[@]}" &
  local client=$!
  if [ -n "$server_pid" ]; then
    while kill -0 "$client" 2>/dev/null; do
      if ! kill -0 "$server_pid" 2>/dev/null; then
        echo "error: the server died during the benchmark" >&2
        kill "$client" 2>/dev/null || true
        return 1
      fi
      sleep 0.2
    done
  fi
  wait "$client"
}

# run_eval [--framework lm-eval] [args...]: runs lm-eval's local-chat-completions mode
# against the server when it is installed (best effort, as in the reference).
run_eval() {
  local framework="${EVAL_FRAMEWORK:-lm-eval}"
  if [ "${1:-}" = "--framework" ]; then
    framework="$2"
    shift 2
  fi
  case "$framework" in
    lm-eval|lm_eval) run_lm_eval "$@" ;;
    *) echo "run_eval: unknown framework $framework" >&2; return 1 ;;
  esac
}

run_lm_eval() {
  local port="${PORT:-8888}" task="${EVAL_TASK:-gsm8k}" fewshot="${NUM_FEWSHOT:-2}" conc=32
  local results_dir="${EVAL_RESULT_DIR:-}"
  while [ "$#" -gt 0 ]; do
    case "$1" in
      --port) port="$2"; shift 2 ;;
      --task) task="$2"; shift 2 ;;
      --num-fewshot) fewshot="$2"; shift 2 ;;
      --results-dir) results_dir="$2"; shift 2 ;;
      --concurrent-requests) conc="$2"; shift 2 ;;
      *) shift ;;
    esac
  done
  if [ -z "$results_dir" ]; then
    results_dir="$(mktemp -d)"
  fi
  export EVAL_RESULT_DIR="$results_dir"
  # `ix evals run` drives lm-eval against the server and writes meta_env.json.
  "$IX_BIN" evals run --server "http://127.0.0.1:${port}" --model "$MODEL" --task "$task" \
    --num-fewshot "$fewshot" --concurrent-requests "$conc" --out "$results_dir"
}

# stop_server PID: stops a server started by a benchmark script.
stop_server() {
  kill "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}
