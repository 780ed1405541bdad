#!/usr/bin/env bash
# Language-server benchmark (BENCHMARKS.md, "ix lsp"): an edit sequence replayed through the
# protocol against `ix lsp` on today's InferenceX master configs.
#
#   bench/lsp.sh [IX_BINARY] [ROUNDS]    (default: target/release/ix, 50; build both first:
#                                         `cargo build --release --locked --bin ix --example lsp_bench`)
#
# The project is a temporary folder in today's layout (configs/{nvidia,amd}-master.yaml and
# runners.yaml from ../shared/reference/head), a stub script and launcher for every name the
# naming rules ask for, the project's .ix sweeps, and a state store holding a record of every task
# (`ix plan --record-fake success`), so hovers show task counts and reasons.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
ix="${1:-$root/target/release/ix}"
rounds="${2:-50}"
bench="${LSP_BENCH:-$root/target/release/examples/lsp_bench}"
reference="${IX_REFERENCE_DIR:-$root/../shared/reference}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

mkdir -p "$work/configs" "$work/sweeps"
cp "$reference/head/configs/nvidia-master.yaml" "$reference/head/configs/amd-master.yaml" \
  "$reference/head/configs/runners.yaml" "$work/configs/"
cp "$root"/sweeps/*.ix "$root"/sweeps/runners.yaml "$work/sweeps/"
configs=(configs/nvidia-master.yaml configs/amd-master.yaml)
# Today's runners file names no nodes for a few runner types the configs use; `ix plan` rejects
# jobs without a node, so give each one (under `labels:`).
# shellcheck disable=SC2016 # backticks are literal in ix's messages
nodeless="$(cd "$work" || exit 1; NO_COLOR=1 "$ix" plan "${configs[@]}" 2>&1 >/dev/null | grep -oE 'runner `[^`]+` has no nodes' | cut -d'`' -f2 | sort -u || true)"
while IFS= read -r runner; do
  [[ -n "$runner" ]] && sed -i "s/^labels:\$/labels:\n  $runner:\n    - ${runner}_0/" "$work/configs/runners.yaml"
done <<<"$nodeless"
for round in 1 2 3 4; do
  # shellcheck disable=SC2016 # backticks are literal in ix's messages
  missing="$(cd "$work" || exit 1; NO_COLOR=1 "$ix" plan "${configs[@]}" 2>&1 >/dev/null | grep -oE '(script|launcher) `[^`]+` does not exist|needs `[^`]+`' | cut -d'`' -f2 | sort -u || true)"
  [[ -z "$missing" ]] && break
  while IFS= read -r file; do
    mkdir -p "$work/$(dirname "$file")"
    printf '#!/usr/bin/env bash\necho %s\n' "$file" >"$work/$file"
  done <<<"$missing"
  echo "bench/lsp: round $round created $(wc -l <<<"$missing") stub files" >&2
done
(cd "$work" && "$ix" plan "${configs[@]}" --record-fake success | head -1)
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
"$bench" "$ix" "$work" "$rounds"
