#!/usr/bin/env bash
# Installs everything the test suite needs on a fresh Debian machine. Idempotent: a second run
# only checks what is already there, and slow builds are cached under ${IX_CACHE:-~/.cache/ix}.
set -euo pipefail
cd "$(dirname "$0")/.."
bash ci/slurm.sh     # slurm-wlm + munge for the Slurm executor tests (the tests start their own cluster)
bash ci/results.sh   # chromium for the report test, lm-eval for the eval test
bash ci/llama.sh     # llama.cpp's llama-server + a tiny model for real-server tests
bash ci/postgres.sh    # PostgreSQL server binaries for the results database tests
bash ci/containers.sh  # podman, runc, skopeo, docker-registry for the image and container tests
bash ci/editors.sh   # neovim and pytest-lsp: real LSP clients for the `ix lsp` tests
# Linters for scripts and workflows (the lint itself runs in ci/test.sh).
bash ci/lint.sh --install-only
