#!/usr/bin/env bash
# Benchmark of `ix matrix full-sweep` over both real vendor files (issue 2). Needs a release build
# (`cargo build --release`) and ../shared/reference beside the checkout (or IX_REFERENCE_DIR).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
ref="${IX_REFERENCE_DIR:-$root/../shared/reference}"
ix="${IX_BIN:-$root/target/release/ix}"
for mode in --single-node --multi-node; do
  python3 "$root/bench/measure.py" --runs 30 --cwd "$ref" --label "ix matrix full-sweep $mode (both vendor files)" -- \
    "$ix" matrix full-sweep "$mode" --config-files configs/nvidia-master.yaml configs/amd-master.yaml \
    --runner-config configs/runners.yaml
done
echo "reference (REFERENCE-SEMANTICS §12, same machine kind): 900-1080 ms and 42.9 MB for each mode"

# Today's InferenceX format (issue 13): both HEAD master files, and `ix check` of every master and
# archived file (three archives fail validation, as in InferenceX, hence exit code 1).
head="$ref/head"
python3 "$root/bench/measure.py" --runs 30 --cwd "$head" --label "ix matrix full-sweep (today's masters, 1820 jobs)" -- \
  "$ix" matrix full-sweep --config-files configs/nvidia-master.yaml configs/amd-master.yaml \
  --runner-config configs/runners.yaml
(
  cd "$head"
  python3 "$root/bench/measure.py" --runs 30 --exit-code 1 --label "ix check (today's masters + archive)" -- \
    "$ix" check configs/nvidia-master.yaml configs/amd-master.yaml configs/deprecated/*.yaml
)
echo "reference (INFERENCEX-HEAD §9): full-sweep of both HEAD masters median 1.20 s, peak RSS 49.8 MiB"

# Where the time goes, stage by stage (thread CPU time, least of 100 runs in one process).
cargo run --quiet --release --locked --example matrix_stages -- "$ref"
# The same jobs from the lowered `.ix` files shipped in sweeps/ (the DSL front end on today's configs).
python3 "$root/bench/measure.py" --runs 30 --cwd "$head" --label "ix matrix full-sweep (sweeps/inferencex-{nvidia,amd}.ix)" -- \
  "$ix" matrix full-sweep --config-files "$root/sweeps/inferencex-nvidia.ix" "$root/sweeps/inferencex-amd.ix" \
  --runner-config configs/runners.yaml
