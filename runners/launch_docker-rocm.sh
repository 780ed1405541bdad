#!/usr/bin/env bash
# Launcher for Docker nodes with AMD Instinct GPUs (`docker-rocm_*`, and the site launchers of
# ROCm lab nodes): launch_docker.sh with the ROCm device nodes (/dev/kfd, /dev/dri) instead of
# the NVIDIA runtime.
set -euo pipefail
IX_DOCKER_GPU=rocm exec bash "$(dirname "$0")/launch_docker.sh"
