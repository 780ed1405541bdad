#!/usr/bin/env bash
# Installs what the results/report/evals tests need on a fresh Debian machine. Idempotent: a second
# run only checks what is already there.
#  - Debian's `chromium`: the HTML report test opens the report in headless Chromium.
#  - lm-eval (`lm-eval[api]` from PyPI, no torch) in a venv cached under
#    ${IX_CACHE:-$HOME/.cache/ix}/lm-eval-0.4.13: `ix evals run` drives its `bin/lm_eval`.
# The eval end-to-end test also needs llama.cpp's server and tiny model from ci/llama.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

cache="${IX_CACHE:-$HOME/.cache/ix}"
lm_eval_version=0.4.13
lm_eval_venv="$cache/lm-eval-$lm_eval_version"

if command -v chromium >/dev/null; then
  echo "ci/results: chromium present ($(chromium --version 2>/dev/null || echo 'version unknown'))" >&2
else
  echo "ci/results: installing chromium (for the HTML report test)" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
fi

# The stamp is written last, so an interrupted install is redone rather than half-used.
if [ -f "$lm_eval_venv/.ix-complete" ]; then
  echo "ci/results: lm-eval $lm_eval_version present in $lm_eval_venv" >&2
else
  echo "ci/results: installing lm-eval[api]==$lm_eval_version into $lm_eval_venv (about 2 minutes)" >&2
  rm -rf "$lm_eval_venv"
  mkdir -p "$cache"
  python3 -m venv "$lm_eval_venv"
  "$lm_eval_venv/bin/pip" install -q --disable-pip-version-check "lm-eval[api]==$lm_eval_version"
  touch "$lm_eval_venv/.ix-complete"
  echo "ci/results: lm-eval installed" >&2
fi
