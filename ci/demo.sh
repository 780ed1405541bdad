#!/usr/bin/env bash
# The README's main command on a fresh copy of the project files: builds ix (release), then runs
# `ix run sweeps/demo.ix` twice in a temporary folder (the second run must run nothing).
# With --llama it also runs sweeps/demo-llama.ix (ci/llama.sh builds llama.cpp on first use,
# cached under ${IX_CACHE:-$HOME/.cache/ix}).
set -euo pipefail
cd "$(dirname "$0")/.."
say() { echo "ci/demo: $*" >&2; }

say "building ix (release)"
cargo build --release --locked --quiet
ix="$PWD/target/release/ix"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
cp -r sweeps benchmarks runners ci "$tmp/"
cd "$tmp"

say "first run of sweeps/demo.ix in $tmp"
start=$(date +%s)
"$ix" run sweeps/demo.ix
say "took $(( $(date +%s) - start )) s"
say "second run (must run nothing)"
"$ix" run sweeps/demo.ix | tee second.txt
grep -q '^nothing to run: ' second.txt

if [ "${1:-}" = "--llama" ]; then
  say "sweeps/demo-llama.ix against llama.cpp"
  "$ix" run sweeps/demo-llama.ix -o report-llama.html
fi
say "ok"
