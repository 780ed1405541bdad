#!/usr/bin/env bash
# Runs the fuzz targets (src/fuzz.rs: the YAML and DSL front ends, the result and stream
# parsers) for a time budget under a memory cap, so an input that makes `ix` allocate without
# bound fails here instead of passing by luck.
#   IX_FUZZ_SECONDS  how long each target runs; the three run side by side (default 120)
#   IX_FUZZ_MEM_KB   virtual memory cap of the test process (default 4194304, 4 GiB)
# A failure prints the minimal input; fix the cause, then add the input to
# tests/data/fuzz/<target>/ so it is run on every `cargo test`.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${IX_FUZZ_SECONDS:-120}"
mem_kb="${IX_FUZZ_MEM_KB:-4194304}"
# Build outside the cap (rustc needs more), then run the already-built lib tests inside it.
cargo test --locked --lib --no-run
(
  ulimit -v "$mem_kb"
  IX_FUZZ_SECONDS="$seconds" cargo test --locked --lib fuzz:: -- --nocapture --test-threads 3
)
