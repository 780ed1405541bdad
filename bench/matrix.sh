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
