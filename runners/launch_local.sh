#!/usr/bin/env bash
# Launcher for `local_*` nodes: runs the benchmark script chosen by `ix` on this machine, in
# the task's working folder (the current directory). `ix run` sets the environment contract
# (REFERENCE-SEMANTICS §8.1) and IX_BENCHMARK_SCRIPT. It starts no container: the line below
# tells `ix` that the image of its tasks is the running `ix` itself (docs/run.md, "launch").
# ix: image=host
set -euo pipefail
: "${IX_BENCHMARK_SCRIPT:?set by ix run: the benchmark script to launch}"
export IX_BIN="${IX_BIN:-ix}"
exec bash "$IX_BENCHMARK_SCRIPT"
