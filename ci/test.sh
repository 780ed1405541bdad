#!/usr/bin/env bash
# The README's test command: lints every script and workflow, runs every test of `ix`, then
# the fuzz targets for a bounded time under a memory cap (ci/fuzz.sh).
# Run `bash ci/setup.sh` first on a fresh machine (`.ci/run` does both).
set -euo pipefail
cd "$(dirname "$0")/.."
bash ci/lint.sh
if cargo fmt --version >/dev/null 2>&1; then
  cargo fmt --check
else
  echo "ci/test: rustfmt is not part of this toolchain; formatting not checked" >&2
fi
cargo test --locked
bash ci/fuzz.sh
