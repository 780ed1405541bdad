#!/usr/bin/env bash
# Installs the real LSP clients the `ix lsp` tests drive (tests/it/lsp_editors.rs). Idempotent.
#  - Debian's `neovim`: headless, its built-in LSP client runs tests/data/lsp/nvim_e2e.lua.
#  - pytest-lsp (PyPI) in a venv cached under ${IX_CACHE:-$HOME/.cache/ix}/pytest-lsp-1.0:
#    runs tests/data/lsp/test_ix_lsp.py against `ix lsp`.
set -euo pipefail
cd "$(dirname "$0")/.."

cache="${IX_CACHE:-$HOME/.cache/ix}"
venv="$cache/pytest-lsp-1.0"

if command -v nvim >/dev/null; then
  echo "ci/editors: neovim present ($(nvim --version | head -1))" >&2
else
  echo "ci/editors: installing neovim" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends neovim >/dev/null
fi

# The stamp is written last, so an interrupted install is redone rather than half-used.
if [ -f "$venv/.ix-complete" ]; then
  echo "ci/editors: pytest-lsp present in $venv" >&2
else
  echo "ci/editors: installing pytest-lsp into $venv" >&2
  rm -rf "$venv"
  mkdir -p "$cache"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check "pytest-lsp==1.0.*"
  touch "$venv/.ix-complete"
  echo "ci/editors: pytest-lsp installed" >&2
fi
