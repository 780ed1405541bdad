#!/usr/bin/env bash
# Prints the overhead of `ix run` (engine plan, scheduler, state store, result processing): N
# benchmark tasks whose script only writes a canned raw result, on 8 local nodes, then the same
# plan again (everything reused), then the GitHub Actions matrix of N tasks.
# Usage: benchmarks/perf/run_overhead.sh [N=256] [IX=target/debug/ix]
set -euo pipefail
n="${1:-256}"
ix="$(realpath "${2:-target/debug/ix}")"
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
mkdir -p "$dir/configs" "$dir/benchmarks" "$dir/runners"
cp "$(dirname "$0")/../../runners/launch_local.sh" "$dir/runners/"
concs=$(seq -s, 1 "$n")
cat > "$dir/configs/master.yaml" <<YAML
tiny-fp32-local-sim:
  image: img
  model: tiny
  model-prefix: tiny
  runner: local
  precision: fp32
  framework: sim
  multinode: false
  seq-len-configs:
  - isl: 1024
    osl: 1024
    search-space:
    - { tp: 1, conc-list: [$concs] }
YAML
printf 'local:\n' > "$dir/configs/runners.yaml"
for i in 0 1 2 3 4 5 6 7; do printf -- '- local_%s\n' "$i" >> "$dir/configs/runners.yaml"; done
cat > "$dir/benchmarks/tiny_fp32_local.sh" <<'SCRIPT'
#!/usr/bin/env bash
printf '{"max_concurrency": %s, "model_id": "tiny", "total_token_throughput": 2.0, "output_throughput": 1.0, "median_tpot_ms": 1.0}' "$CONC" > "$RESULT_FILENAME.json"
SCRIPT
cd "$dir"
args=(--config-files configs/master.yaml --runner-config configs/runners.yaml)
timed() {
  local start end
  start=$(date +%s.%N)
  "$@" > /dev/null 2>&1 || true
  end=$(date +%s.%N)
  echo "$end - $start" | bc
}
echo "bench tasks: $n (+ $n result, launch, collect, summary, report), nodes: 8, -j 8"
echo "first run (all run):      $(timed "$ix" run "${args[@]}" -j 8) s"
echo "second run (all reused):  $(timed "$ix" run "${args[@]}" -j 8) s"
rm -rf .ix
echo "gha matrix of $n tasks:    $(timed "$ix" run "${args[@]}" --gha-matrix) s"
