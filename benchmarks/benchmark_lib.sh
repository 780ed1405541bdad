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
  local port="${PORT:-8888}" task="${EVAL_TASK:-gsm8k}" fewshot="${NUM_FEWSHOT:-2}" conc="${EVAL_CONC:-32}"
  local results_dir="${EVAL_RESULT_DIR:-}" limit=()
  if [ -n "${EVAL_LIMIT:-}" ]; then
    limit=(--limit "$EVAL_LIMIT")
  fi
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
  # Task files live in the project's utils/evals (next to this file's folder).
  local tasks_dir
  tasks_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/utils/evals"
  "$IX_BIN" evals run --server "http://127.0.0.1:${port}" --model "$MODEL" --task "$task" \
    --tasks-dir "$tasks_dir" --num-fewshot "$fewshot" --concurrent-requests "$conc" \
    "${limit[@]}" --out "$results_dir"
}

# eval_only: whether this run is an eval task (EVAL_ONLY=true): the script starts the server,
# runs the eval against it and stops, without benchmarking.
eval_only() {
  [ "${EVAL_ONLY:-false}" = true ]
}

# no_eval_mode SCRIPT: exits 1 when asked for an eval (EVAL_ONLY=true) by a script that has no
# eval mode, so that an eval task never records a benchmark as its result.
no_eval_mode() {
  if eval_only; then
    echo "error: $1 has no eval mode (EVAL_ONLY=true); multi-node evals are not supported" >&2
    exit 1
  fi
}

# stop_server PID: stops a server started by a benchmark script.
stop_server() {
  kill "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

# ---------------------------------------------------------------------------------------
# Engine launchers and flows shared by the GPU scripts of the project's sweeps. Every
# engine flag below is one the engine documents for its CLI; model- and site-specific
# flags come from the calling script as extra argv elements.
# ---------------------------------------------------------------------------------------

SINGLE_NODE_VARS=(MODEL TP EP_SIZE DP_ATTENTION CONC ISL OSL MAX_MODEL_LEN RANDOM_RANGE_RATIO
  RESULT_FILENAME PORT)
MULTI_NODE_VARS=(MODEL FRAMEWORK PRECISION ISL OSL MAX_MODEL_LEN RANDOM_RANGE_RATIO CONC_LIST
  RESULT_FILENAME PREFILL_NUM_WORKERS PREFILL_TP PREFILL_EP PREFILL_DP_ATTN
  DECODE_NUM_WORKERS DECODE_TP DECODE_EP DECODE_DP_ATTN)

# ix_locate: makes IX_BIN point at a runnable `ix`. Inside a container `ix` is usually not
# on PATH; the launchers mount the repository, so a build under its target/ works too.
ix_locate() {
  if command -v "$IX_BIN" >/dev/null 2>&1; then
    return 0
  fi
  local root candidate
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  for candidate in "$root/target/release/ix" "$root/target/debug/ix" /ix/bin/ix; do
    if [ -x "$candidate" ]; then
      IX_BIN="$candidate"
      return 0
    fi
  done
  echo "error: no ix binary (set IX_BIN, put ix on PATH or build it under $root/target)" >&2
  exit 1
}

# require_int NAME...: exits 1 unless every NAME holds a non-negative integer (values are
# written into engine config files, so they are checked first).
require_int() {
  local name
  for name in "$@"; do
    if ! [[ "${!name:-}" =~ ^[0-9]+$ ]]; then
      echo "error: $name must be a non-negative integer, got '${!name:-}'" >&2
      exit 1
    fi
  done
}

# start_vllm LOG [FLAG...]: `vllm serve` in the background (pid in $!). Attention data
# parallelism maps to vLLM's data-parallel attention with expert-parallel MoE layers.
start_vllm() {
  local log="$1"
  shift
  local par=(--tensor-parallel-size "$TP")
  if [ "$DP_ATTENTION" = true ]; then
    par=(--tensor-parallel-size 1 --data-parallel-size "$TP" --enable-expert-parallel)
  elif [ "$EP_SIZE" -gt 1 ]; then
    par+=(--enable-expert-parallel)
  fi
  vllm serve "$MODEL" --host 0.0.0.0 --port "$PORT" "${par[@]}" \
    --max-model-len "$MAX_MODEL_LEN" --max-num-seqs "$CONC" \
    --gpu-memory-utilization 0.9 --no-enable-prefix-caching "$@" >"$log" 2>&1 &
}

# start_sglang LOG [FLAG...]: `python3 -m sglang.launch_server` in the background.
start_sglang() {
  local log="$1"
  shift
  local par=(--tp-size "$TP")
  if [ "$EP_SIZE" -gt 1 ]; then
    par+=(--ep-size "$EP_SIZE")
  fi
  if [ "$DP_ATTENTION" = true ]; then
    par+=(--enable-dp-attention --dp-size "$TP")
  fi
  python3 -m sglang.launch_server --model-path "$MODEL" --host 0.0.0.0 --port "$PORT" \
    "${par[@]}" --context-length "$MAX_MODEL_LEN" --max-running-requests "$CONC" \
    --disable-radix-cache --trust-remote-code "$@" >"$log" 2>&1 &
}

# write_trtllm_options FILE: the extra LLM-API options YAML trtllm-serve reads
# (--extra_llm_api_options); MTP speculative decoding when SPEC_DECODING=mtp.
write_trtllm_options() {
  local file="$1"
  require_int CONC
  local dpa=false
  if [ "${DP_ATTENTION:-false}" = true ]; then
    dpa=true
  fi
  {
    printf 'enable_attention_dp: %s\n' "$dpa"
    printf 'cuda_graph_config:\n  enable_padding: true\n  max_batch_size: %d\n' "$CONC"
    printf 'kv_cache_config:\n  enable_block_reuse: false\n  free_gpu_memory_fraction: 0.85\n'
    printf 'print_iter_log: false\n'
    if [ "${SPEC_DECODING:-none}" = mtp ]; then
      printf 'speculative_config:\n  decoding_type: MTP\n  num_nextn_predict_layers: %d\n' \
        "${MTP_LAYERS:-3}"
    fi
  } >"$file"
}

# start_trtllm LOG [FLAG...]: `trtllm-serve` (PyTorch backend) in the background, with the
# options YAML written next to the log at run time.
start_trtllm() {
  local log="$1"
  shift
  require_int MAX_MODEL_LEN
  local options="$PWD/extra-llm-api-options.yaml"
  write_trtllm_options "$options"
  local tokens=$((MAX_MODEL_LEN > 8192 ? MAX_MODEL_LEN : 8192))
  trtllm-serve "$MODEL" --host 0.0.0.0 --port "$PORT" --backend pytorch \
    --tp_size "$TP" --ep_size "$EP_SIZE" --max_batch_size "$CONC" \
    --max_seq_len "$MAX_MODEL_LEN" --max_num_tokens "$tokens" --trust_remote_code \
    --extra_llm_api_options "$options" "$@" >"$log" 2>&1 &
}

# start_atom LOG [FLAG...]: ROCm ATOM's OpenAI-compatible server in the background.
start_atom() {
  local log="$1"
  shift
  local par=(--tensor-parallel-size "$TP")
  if [ "$DP_ATTENTION" = true ]; then
    par+=(--enable-dp-attention --enable-expert-parallel)
  elif [ "$EP_SIZE" -gt 1 ]; then
    par+=(--enable-expert-parallel)
  fi
  python3 -m atom.entrypoints.openai_server --model "$MODEL" --host 0.0.0.0 \
    --server-port "$PORT" "${par[@]}" --gpu-memory-utilization 0.9 "$@" >"$log" 2>&1 &
}

# serve_single_node ENGINE [FLAG...]: the whole single-node flow of a benchmark script:
# check the environment contract, start ENGINE (vllm, sglang, trt, atom) with the extra
# flags, wait for /health (stopping when the server dies), run `ix bench serve` with the
# reference client's flags (10 x CONC prompts); with EVAL_ONLY=true (an eval task) the eval
# instead of the benchmark.
serve_single_node() {
  local engine="$1"
  shift
  check_env_vars "${SINGLE_NODE_VARS[@]}"
  require_int TP EP_SIZE CONC ISL OSL MAX_MODEL_LEN PORT
  ix_locate
  local log="$PWD/server.log"
  case "$engine" in
    vllm) start_vllm "$log" "$@" ;;
    sglang) start_sglang "$log" "$@" ;;
    trt) start_trtllm "$log" "$@" ;;
    atom) start_atom "$log" "$@" ;;
    *) echo "error: serve_single_node: unknown engine '$engine'" >&2; exit 1 ;;
  esac
  SERVER_PID=$!
  trap 'stop_server "$SERVER_PID"' EXIT
  wait_for_server_ready --port "$PORT" --server-log "$log" --server-pid "$SERVER_PID" \
    --sleep-interval "${HEALTH_POLL_INTERVAL:-5}"
  if eval_only; then
    run_eval --framework "${EVAL_FRAMEWORK:-lm-eval}" --port "$PORT" --concurrent-requests "${EVAL_CONC:-$CONC}"
    return
  fi
  run_benchmark_serving --model "$MODEL" --port "$PORT" --backend vllm \
    --input-len "$ISL" --output-len "$OSL" --random-range-ratio "$RANDOM_RANGE_RATIO" \
    --num-prompts "$((CONC * 10))" --max-concurrency "$CONC" \
    --result-filename "$RESULT_FILENAME" --result-dir "$PWD" --server-pid "$SERVER_PID"
}

# unsupported_framework SCRIPT: the script was picked for a FRAMEWORK it cannot serve.
unsupported_framework() {
  echo "error: $1 does not serve framework '${FRAMEWORK:-}'" >&2
  exit 1
}

# multinode_result_name CONC: `<RESULT_FILENAME>_conc<c>_gpus_<n>_ctx_<p>_gen_<d>`, the shape
# the multi-node result step parses (digits after the last _gpus_, _ctx_ and _gen_).
multinode_result_name() {
  local ctx=$((PREFILL_NUM_WORKERS * PREFILL_TP)) gen=$((DECODE_NUM_WORKERS * DECODE_TP))
  printf '%s_conc%s_gpus_%d_ctx_%d_gen_%d' "$RESULT_FILENAME" "$1" "$((ctx + gen))" "$ctx" "$gen"
}

# wait_for_url URL PID LOG: polls URL until it answers; exits 1 if PID dies first.
wait_for_url() {
  local url="$1" pid="$2" log="$3"
  until curl --silent --fail --output /dev/null "$url"; do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "error: the process behind $url (pid $pid) exited before it was ready; its log:" >&2
      tail -n 50 "$log" >&2 || true
      exit 1
    fi
    sleep "${HEALTH_POLL_INTERVAL:-10}"
  done
}

# ensure_squash: prints the enroot squash file of IMAGE (IX_SQUASH_FILE, else named from
# the image with / : @ # replaced by _ under IX_SQUASH_DIR), importing it when missing or
# corrupt.
ensure_squash() {
  local squash="${IX_SQUASH_FILE:-}"
  if [ -z "$squash" ]; then
    local dir="${IX_SQUASH_DIR:-$HOME/.cache/ix/squash}"
    mkdir -p "$dir"
    squash="$dir/${IMAGE//[\/:@#]/_}.sqsh"
  fi
  if ! unsquashfs -l "$squash" >/dev/null 2>&1; then
    rm -f "$squash"
    enroot import -o "$squash" "docker://$IMAGE" >&2
  fi
  printf '%s\n' "$squash"
}

# stop_multinode: stops every job step a multi-node flow started (by pid, never by name).
stop_multinode() {
  local pid
  for pid in "${MULTINODE_PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${MULTINODE_PIDS[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
}

# bench_conc_list PORT SERVER_PID: one `ix bench serve` run per value of CONC_LIST against
# the router on this node, each written to its multinode_result_name.
bench_conc_list() {
  local port="$1" pid="$2" conc
  local concs
  read -r -a concs <<<"$CONC_LIST"
  for conc in "${concs[@]}"; do
    run_benchmark_serving --model "$MODEL" --port "$port" --backend vllm \
      --input-len "$ISL" --output-len "$OSL" --random-range-ratio "$RANDOM_RANGE_RATIO" \
      --num-prompts "$((conc * 10))" --max-concurrency "$conc" \
      --result-filename "$(multinode_result_name "$conc")" --result-dir "$PWD" \
      --server-pid "$pid"
  done
}

# run_sglang_disagg [FLAG...]: prefill/decode disaggregation with SGLang's own PD router,
# run as the batch script of a Slurm allocation with one node per worker (what
# runners/launch_slurm-enroot.sh allocates). Workers run in the task's image through
# pyxis; the router runs on this (the first) node; the client runs here once per CONC_LIST
# value. FLAGs go to every worker.
run_sglang_disagg() {
  check_env_vars "${MULTI_NODE_VARS[@]}" IMAGE SLURM_JOB_NODELIST
  require_int PREFILL_NUM_WORKERS PREFILL_TP PREFILL_EP DECODE_NUM_WORKERS DECODE_TP DECODE_EP \
    ISL OSL MAX_MODEL_LEN
  ix_locate
  local per_node="${GPUS_PER_NODE:-8}"
  if [ "$PREFILL_TP" -gt "$per_node" ] || [ "$DECODE_TP" -gt "$per_node" ]; then
    echo "error: run_sglang_disagg places one worker per node ($per_node GPUs); TP is larger" >&2
    exit 1
  fi
  local nodes
  mapfile -t nodes < <(scontrol show hostnames "$SLURM_JOB_NODELIST")
  local total=$((PREFILL_NUM_WORKERS + DECODE_NUM_WORKERS))
  if [ "${#nodes[@]}" -lt "$total" ]; then
    echo "error: $total workers need $total nodes, the allocation has ${#nodes[@]}" >&2
    exit 1
  fi
  local squash repo port="${PORT:-8888}" worker_port="${WORKER_PORT:-30000}"
  local bootstrap="${BOOTSTRAP_PORT:-8998}"
  squash="$(ensure_squash)"
  repo="${IX_REPO:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
  local container=(--container-image="$squash" --container-mounts="$PWD:/workspace/,$repo:/ix/repo"
    --container-workdir=/workspace/ --no-container-entrypoint --export=ALL)
  MULTINODE_PIDS=()
  trap stop_multinode EXIT
  local i node role tp ep dpa log router_args=() worker_urls=() worker_pids=() worker_logs=()
  for ((i = 0; i < total; i++)); do
    node="${nodes[$i]}"
    if [ "$i" -lt "$PREFILL_NUM_WORKERS" ]; then
      role=prefill tp="$PREFILL_TP" ep="$PREFILL_EP" dpa="$PREFILL_DP_ATTN"
    else
      role=decode tp="$DECODE_TP" ep="$DECODE_EP" dpa="$DECODE_DP_ATTN"
    fi
    local par=(--tp-size "$tp")
    if [ "$ep" -gt 1 ]; then par+=(--ep-size "$ep"); fi
    if [ "$dpa" = true ]; then par+=(--enable-dp-attention --dp-size "$tp"); fi
    log="$PWD/server_${role}_${i}.log"
    srun --overlap --nodes=1 --ntasks=1 --nodelist="$node" "${container[@]}" \
      python3 -m sglang.launch_server --model-path "$MODEL" --host 0.0.0.0 \
      --port "$worker_port" "${par[@]}" --context-length "$MAX_MODEL_LEN" \
      --disaggregation-mode "$role" --disaggregation-bootstrap-port "$bootstrap" \
      --disaggregation-transfer-backend "${DISAGG_TRANSFER_BACKEND:-mooncake}" \
      --trust-remote-code "$@" >"$log" 2>&1 &
    MULTINODE_PIDS+=("$!")
    worker_pids+=("$!")
    worker_logs+=("$log")
    worker_urls+=("http://$node:$worker_port")
    if [ "$role" = prefill ]; then
      router_args+=(--prefill "http://$node:$worker_port" "$bootstrap")
    else
      router_args+=(--decode "http://$node:$worker_port")
    fi
  done
  for ((i = 0; i < total; i++)); do
    wait_for_url "${worker_urls[$i]}/health" "${worker_pids[$i]}" "${worker_logs[$i]}"
  done
  local router_log="$PWD/server.log"
  srun --overlap --nodes=1 --ntasks=1 --nodelist="${nodes[0]}" "${container[@]}" \
    python3 -m sglang_router.launch_router --pd-disaggregation "${router_args[@]}" \
    --host 0.0.0.0 --port "$port" >"$router_log" 2>&1 &
  local router_pid=$!
  MULTINODE_PIDS+=("$router_pid")
  wait_for_server_ready --port "$port" --server-log "$router_log" --server-pid "$router_pid" \
    --sleep-interval "${HEALTH_POLL_INTERVAL:-5}"
  bench_conc_list "$port" "$router_pid"
}

# srtctl_recipe GPU: the srtctl recipe of a multi-node job: CONFIG_FILE when the job sets it
# (relative to SRT_RECIPES_DIR, else to the repository), otherwise the conventional path
# <SRT_RECIPES_DIR>/<framework>/<gpu>-<precision>/<isl>_<osl>/<mtp|stp>/
# ctx<P workers>_gen<D workers>_<dep|tep><decode tp>.yaml.
srtctl_recipe() {
  local gpu="$1" base="${SRT_RECIPES_DIR:-${IX_REPO:-.}/recipes}"
  if [ -n "${CONFIG_FILE:-}" ]; then
    case "$CONFIG_FILE" in
      /*) printf '%s\n' "$CONFIG_FILE" ;;
      *) printf '%s/%s\n' "$base" "$CONFIG_FILE" ;;
    esac
    return 0
  fi
  local spec=stp kind=tep
  if [ "${SPEC_DECODING:-none}" = mtp ]; then spec=mtp; fi
  if [ "$DECODE_DP_ATTN" = true ]; then kind=dep; fi
  printf '%s/%s/%s-%s/%s_%s/%s/ctx%s_gen%s_%s%s.yaml\n' "$base" "$FRAMEWORK" "$gpu" \
    "$PRECISION" "$ISL" "$OSL" "$spec" "$PREFILL_NUM_WORKERS" "$DECODE_NUM_WORKERS" "$kind" \
    "$DECODE_TP"
}

# run_srtctl_recipe RECIPE: submits an srtctl (srt-slurm) recipe with `srtctl apply -f`,
# waits for its Slurm job, and copies every results_concurrency_<c>*.json of the job's log
# folder as <RESULT_FILENAME>_<folder>_conc<c>_gpus_<n>_ctx_<p>_gen_<d>.json (§8.2).
run_srtctl_recipe() {
  local recipe="$1"
  check_env_vars "${MULTI_NODE_VARS[@]}"
  require_int PREFILL_NUM_WORKERS PREFILL_TP DECODE_NUM_WORKERS DECODE_TP
  if [ ! -f "$recipe" ]; then
    echo "error: srtctl recipe $recipe does not exist (set CONFIG_FILE or SRT_RECIPES_DIR)" >&2
    exit 1
  fi
  if ! command -v srtctl >/dev/null 2>&1; then
    if [ -z "${SRTCTL_PIP_SPEC:-}" ]; then
      echo "error: srtctl is not installed; set SRTCTL_PIP_SPEC to its pip requirement" >&2
      exit 1
    fi
    python3 -m pip install --quiet "$SRTCTL_PIP_SPEC"
  fi
  local out job
  out="$(srtctl apply -f "$recipe" 2>&1)" || { printf '%s\n' "$out" >&2; exit 1; }
  printf '%s\n' "$out"
  job="$(grep -oiE 'job( id)?:? *[0-9]+' <<<"$out" | grep -oE '[0-9]+$' | tail -n 1 || true)"
  if [ -z "$job" ]; then
    echo "error: no Slurm job id in srtctl's output" >&2
    exit 1
  fi
  trap 'scancel "$job" 2>/dev/null || true' EXIT
  while [ -n "$(squeue --noheader --jobs="$job" 2>/dev/null)" ]; do
    sleep 30
  done
  trap - EXIT
  local logs="${SRTCTL_LOG_DIR:-logs}" folder
  folder="$(find "$logs" -maxdepth 1 -type d -name "${job}_*" -printf '%T@ %p\n' 2>/dev/null \
    | sort -n | tail -n 1 | cut -d' ' -f2-)"
  if [ -z "$folder" ]; then
    echo "error: no log folder $logs/${job}_* after job $job" >&2
    exit 1
  fi
  local ctx=$((PREFILL_NUM_WORKERS * PREFILL_TP)) gen=$((DECODE_NUM_WORKERS * DECODE_TP))
  local file name conc copied=0
  while IFS= read -r -d '' file; do
    name="$(basename "$file")"
    conc="$(grep -oE 'concurrency_[0-9]+' <<<"$name" | grep -oE '[0-9]+' || true)"
    cp "$file" "$PWD/${RESULT_FILENAME}_$(basename "$(dirname "$file")")_conc${conc}_gpus_$((ctx + gen))_ctx_${ctx}_gen_${gen}.json"
    copied=$((copied + 1))
  done < <(find "$folder" -type f -name 'results_concurrency_*.json' -print0 | sort -z)
  if [ "$copied" -eq 0 ]; then
    echo "error: job $job wrote no results_concurrency_*.json under $folder" >&2
    exit 1
  fi
}

# ---------------------------------------------------------------------------------------
# Built-in simulator for the demo sweeps (no GPU).
# ---------------------------------------------------------------------------------------

# start_ix_sim_server LOG [SIM-SERVER FLAG...]: starts `ix bench sim-server` on a free port
# with its output in LOG, waits until it answers, and sets SERVER_PID and SIM_PORT. The
# caller stops it (trap 'stop_server "$SERVER_PID"' EXIT).
start_ix_sim_server() {
  local log="$1"
  shift
  : > "$log"  # exists before the background server's redirection opens it
  "$IX_BIN" bench sim-server --host 127.0.0.1 --port 0 "$@" > "$log" 2>&1 &
  SERVER_PID=$!
  SIM_PORT=""
  local _
  for _ in $(seq 1 100); do
    SIM_PORT="$(sed -n 's|.*listening on http://127\.0\.0\.1:\([0-9]*\).*|\1|p' "$log")"
    [ -n "$SIM_PORT" ] && break
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
      echo "error: the simulator exited before it was ready; its log:" >&2
      cat "$log" >&2
      exit 1
    fi
    sleep 0.05
  done
  if [ -z "$SIM_PORT" ]; then
    echo "error: the simulator printed no port within 5 s" >&2
    exit 1
  fi
  wait_for_server_ready --port "$SIM_PORT" --server-log "$log" --server-pid "$SERVER_PID" --sleep-interval 0.1
}
