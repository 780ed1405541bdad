#!/usr/bin/env bash
# Demo sweep entry point for model-prefix `tiny`, precision `fp32` on `local_*` nodes
# (REFERENCE-SEMANTICS §8.2 names it without a framework suffix): frameworks `sim*` run
# against `ix bench sim-server`, `llamacpp` against llama.cpp's llama-server.
set -euo pipefail
here="$(dirname "${BASH_SOURCE[0]}")"
case "${FRAMEWORK:-sim}" in
  llamacpp) exec bash "$here/tiny_fp32_local_llamacpp.sh" ;;
  sim*) exec bash "$here/tiny_fp32_local_sim_server.sh" ;;
  *) echo "error: no tiny fp32 local script for framework ${FRAMEWORK}" >&2; exit 1 ;;
esac
