#!/usr/bin/env bash
# Agentic demo (sweeps/demo-agentic.yaml): replays seeded synthetic agent sessions against
# `ix bench sim-server` with its prefix-cache model on, the way the GPU agentic scripts replay
# the cc-traces-weka corpus against vLLM or SGLang (AGENTIC.md §1.2). IX_BIN, set by `ix run`,
# is the ix binary. Writes $RESULT_FILENAME.json (the InferenceX agentic aggregate), the aiperf
# artifacts and the server log in the task's folder.
set -euo pipefail
here="$(dirname "${BASH_SOURCE[0]}")"
# shellcheck source=../../benchmark_lib.sh
source "$here/../../benchmark_lib.sh"
check_env_vars MODEL CONC RESULT_FILENAME

# The matrix asks for DURATION (3600 s, sized for GPUs); the demo profiles 10 s per point.
duration=10

# 24 sessions of 6-12 turns, prompts growing from ~1k to at most 4k tokens, one or two
# subagent branches each; recorded think times of 0.3 s.
"$IX_BIN" bench traces --output "$PWD/traces.jsonl" --traces 24 --seed 1 \
  --min-turns 6 --max-turns 12 --initial-tokens 1024 --max-prompt-tokens 4096 \
  --max-subagents 2 --max-output-tokens 48 --max-api-time 0.6 --think-time 0.3 --compaction-rate 0.05

# A pool of 1,500 blocks of 16 tokens (24k tokens): roomy for 2 lanes, tight for 8, so the
# cache hit rate falls and TTFT rises with concurrency.
SERVER_LOG="$PWD/server.log"
start_ix_sim_server "$SERVER_LOG" --model "$MODEL" --ttft-ms 8 --itl-ms 2 \
  --kv-blocks 1500 --block-size 16 --prefill-ms-per-token 0.01
trap 'stop_server "$SERVER_PID"' EXIT

"$IX_BIN" bench serve --backend openai-chat --model "$MODEL" --base-url "http://127.0.0.1:$SIM_PORT" \
  --dataset-name weka --dataset-path "$PWD/traces.jsonl" --concurrency "$CONC" \
  --benchmark-duration "$duration" --warmup-requests-per-lane 1 \
  --trajectory-start-min-ratio 0.25 --trajectory-start-max-ratio 0.75 \
  --result-dir "$PWD" --result-filename "$RESULT_FILENAME"
