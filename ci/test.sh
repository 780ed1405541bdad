#!/usr/bin/env bash
# The README's test command: lints every script and workflow, then runs every test of `ix`.
# Run `bash ci/setup.sh` first on a fresh machine (`.ci/run` does both).
set -euo pipefail
cd "$(dirname "$0")/.."
bash ci/lint.sh
cargo test --locked
