#!/usr/bin/env bash
# Installs everything the test suite needs on a fresh Debian machine. Idempotent: a second run
# only checks what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v shellcheck >/dev/null || need_apt+=(shellcheck)
if ((${#need_apt[@]})); then
  echo "ci/setup: installing ${need_apt[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi
