#!/usr/bin/env bash
# Benchmarks of the incremental engine (`ix plan`); prints the figures recorded in BENCHMARKS.md.
#
#   bench/engine.sh [IX_BINARY]     (default: target/release/ix; build it and the re-plan example
#                                    first: `cargo build --release --locked --bin ix --example replan`)
#
# 1. cold `ix plan` over both vendor master configs (../shared/reference/configs);
# 2. the same with a state store that holds a record of every task (`--record-fake success`);
# 3. re-plan after a one-line edit of a benchmark script and of the sweep: in-process with
#    `examples/replan.rs` (50 edits each, without and with the store), then 8 edits through the
#    real `ix plan --watch`;
# 4. a generated sweep of about 100,000 tasks: time and peak memory.
# Each project is a temporary directory with a stub script and launcher for every name the
# naming rules ask for (found from `ix plan`'s own missing-file diagnostics).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
ix="${1:-$root/target/release/ix}"
reference="${IX_REFERENCE_DIR:-$root/../shared/reference}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# Creates every script and launcher that `ix plan` reports missing.
stub_project() {
  local dir="$1"; shift
  local round
  for round in 1 2 3; do
    local missing
    # shellcheck disable=SC2016 # backticks are literal in ix's messages
    missing="$(cd "$dir" || exit 1; NO_COLOR=1 "$ix" plan "$@" 2>&1 >/dev/null | grep -oE '(script|launcher) `[^`]+` does not exist' | cut -d'`' -f2 | sort -u || true)"
    [[ -z "$missing" ]] && return 0
    while IFS= read -r file; do
      mkdir -p "$dir/$(dirname "$file")"
      # shellcheck disable=SC2016 # the stub's text, not expanded here
      printf '#!/usr/bin/env bash\nsource "$(dirname "$0")/benchmark_lib.sh"\necho %s\n' "$file" >"$dir/$file"
    done <<<"$missing"
    printf '#!/usr/bin/env bash\ncheck_env_vars() { :; }\n' >"$dir/benchmarks/benchmark_lib.sh"
    echo "bench/engine: round $round created $(wc -l <<<"$missing") stub files" >&2
  done
}

median_ms() {
  sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

echo "== 1. cold ix plan over both vendor files"
vendor="$work/vendor"
mkdir -p "$vendor"
cp "$reference/configs/nvidia-master.yaml" "$reference/configs/amd-master.yaml" "$reference/configs/runners.yaml" "$vendor/"
# The vendor runners file lacks one runner type the nvidia sweep uses; `ix plan` rejects jobs
# without a node, so give it one.
printf "h200-multinode-slurm:\n- 'h200-dgxc-slurm_0'\n" >>"$vendor/runners.yaml"
stub_project "$vendor" nvidia-master.yaml amd-master.yaml
(cd "$vendor" && "$ix" plan nvidia-master.yaml amd-master.yaml | head -1)
for _ in 1 2 3 4 5 6 7; do
  start=$(date +%s%N)
  (cd "$vendor" && "$ix" plan nvidia-master.yaml amd-master.yaml >/dev/null)
  echo $(( ($(date +%s%N) - start) / 1000 ))
done | median_ms | awk '{ printf "cold plan, whole process (median of 7): %.1f ms\n", $1 / 1000 }'
(cd "$vendor" && "$ix" plan nvidia-master.yaml amd-master.yaml --timings 2>&1 >/dev/null | grep timings)
for _ in 1 2 3 4 5 6 7; do
  (cd "$vendor" && /usr/bin/time -f "%U %S" "$ix" plan nvidia-master.yaml amd-master.yaml 2>&1 >/dev/null | tail -1)
done | awk '{ print ($1 + $2) * 1000 }' | median_ms | awk '{ printf "cold plan, CPU time user+sys (median of 7): %.0f ms (10 ms resolution)\n", $1 }'

echo "== 2. cold ix plan with a state store holding a record of every task"
(cd "$vendor" && "$ix" plan nvidia-master.yaml amd-master.yaml --record-fake success >/dev/null 2>&1)
for _ in 1 2 3 4 5 6 7; do
  start=$(date +%s%N)
  (cd "$vendor" && "$ix" plan nvidia-master.yaml amd-master.yaml >/dev/null)
  echo $(( ($(date +%s%N) - start) / 1000 ))
done | median_ms | awk '{ printf "cold plan with store, whole process (median of 7): %.1f ms\n", $1 / 1000 }'
(cd "$vendor" && "$ix" plan nvidia-master.yaml amd-master.yaml --timings 2>&1 >/dev/null | grep timings)

echo "== 3. re-plan after a one-line edit (what --watch does), in-process, 50 edits of each kind"
replan="${IX_REPLAN:-$root/target/release/examples/replan}"
if [[ -x "$replan" ]]; then
  mv "$vendor/.ix" "$work/store"
  echo "-- without a state store"
  "$replan" "$vendor" 50 -- nvidia-master.yaml amd-master.yaml | sed 's/^/  /'
  mv "$work/store" "$vendor/.ix"
  echo "-- with the state store (every task recorded)"
  "$replan" "$vendor" 50 -- nvidia-master.yaml amd-master.yaml | sed 's/^/  /'
else
  echo "  (skipped: build it with \`cargo build --release --locked --example replan\`)"
fi
echo "-- the real binary: ix plan --watch, with the store, 8 edits"
(cd "$vendor" && "$ix" plan nvidia-master.yaml amd-master.yaml --watch --watch-limit 8 --timings >/dev/null 2>"$work/watch.err") &
watcher=$!
sleep 1.5
script="$(find "$vendor/benchmarks" -name '*.sh' ! -name benchmark_lib.sh | sort | head -1)"
for round in 1 2 3 4; do
  echo "# edit $round" >>"$script"
  sleep 0.7
  if ((round % 2)); then
    sed -i '0,/^  model: .*$/s//&-e/' "$vendor/nvidia-master.yaml"
  else
    sed -i '0,/^  model: \(.*\)-e$/s//  model: \1/' "$vendor/nvidia-master.yaml"
  fi
  sleep 0.7
done
wait "$watcher"
grep -E "re-planned" "$work/watch.err" | tail -n 8 | sed 's/^/  /'
echo "  (alternating: one line appended to a benchmark script; the first \`model:\` line of nvidia-master.yaml changed)"

echo "== 4. a generated sweep of about 100,000 tasks"
big="$work/big"
mkdir -p "$big"
printf 'gpu:\n- gpu-node_0\n' >"$big/runners.yaml"
{
  for key in $(seq 1 500); do
    cat <<YAML
gen-$key-fp8-gpu-vllm:
  image: registry.example/vllm:v$((key % 7))
  model: org/model-$key
  model-prefix: gen
  runner: gpu
  precision: fp8
  framework: vllm
  multinode: false
  seq-len-configs:
YAML
    for isl in 1024 8192; do
      cat <<YAML
  - isl: $isl
    osl: 1024
    search-space:
    - { tp: 1, conc-start: 1, conc-end: 512 }
    - { tp: 2, conc-start: 1, conc-end: 512 }
    - { tp: 4, conc-start: 1, conc-end: 512 }
    - { tp: 8, conc-start: 1, conc-end: 512 }
    - { tp: 8, ep: 8, conc-start: 1, conc-end: 512 }
YAML
    done
  done
} >"$big/sweep.yaml"
stub_project "$big" sweep.yaml --max-jobs 60000
(cd "$big" && "$ix" plan sweep.yaml --max-jobs 60000 | head -1)
(cd "$big" && /usr/bin/time -f "generated sweep: %e s wall, %M KiB peak RSS" "$ix" plan sweep.yaml --max-jobs 60000 --timings 2>&1 >/dev/null | grep -E 'timings|peak')
