#!/usr/bin/env bash
# Installs what the results/report/evals tests need on a fresh Debian machine: Debian's
# `chromium` (the HTML report test opens the report in headless Chromium). Idempotent: a second
# run only checks what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

if command -v chromium >/dev/null; then
  echo "ci/results: chromium already installed ($(chromium --version 2>/dev/null || echo unknown version))" >&2
else
  echo "ci/results: installing chromium (for the HTML report test)" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
fi
