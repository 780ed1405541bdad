#!/usr/bin/env bash
# The README's test command: runs every test of `ix` (after ci/setup.sh has installed what they need).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --locked
