#!/usr/bin/env bash
# Launcher for Docker GPU nodes (`docker_*`): runs the benchmark script in the task's image
# with host networking and all GPUs, the working folder mounted at /workspace/, the repository
# read-only at /ix/repo, the host's `ix` at /ix/bin/ix when there is one, and the contract
# variables forwarded by name (never as text), like the reference launchers.
# IX_DOCKER_GPU=nvidia (default) uses the NVIDIA runtime; rocm passes the AMD device nodes.
set -euo pipefail
: "${IX_BENCHMARK_SCRIPT:?set by ix run}"
: "${IMAGE:?}" "${RESULT_FILENAME:?}"
repo="${IX_REPO:-$PWD}"
script_rel="${IX_BENCHMARK_SCRIPT#"$repo"/}"
name="ix-${RESULT_FILENAME:0:40}"
name="${name//[^A-Za-z0-9_.-]/_}"
forward=(HF_TOKEN HF_HUB_CACHE MODEL TP EP_SIZE DP_ATTENTION CONC MAX_MODEL_LEN ISL OSL
  RANDOM_RANGE_RATIO RESULT_FILENAME RUN_EVAL RUNNER_TYPE PORT FRAMEWORK PRECISION
  SPEC_DECODING EXP_NAME)
env_args=()
for var in "${forward[@]}"; do
  env_args+=(-e "$var")
done
mounts=(-v "$PWD:/workspace/" -v "$repo:/ix/repo:ro")
if [ -n "${HF_HUB_CACHE:-}" ]; then
  mounts+=(-v "$HF_HUB_CACHE:$HF_HUB_CACHE")
fi
if ix_path="$(command -v "${IX_BIN:-ix}")"; then
  mounts+=(-v "$ix_path:/ix/bin/ix:ro")
fi
case "${IX_DOCKER_GPU:-nvidia}" in
  nvidia) gpu_args=(--runtime=nvidia --gpus=all --privileged --shm-size=16g) ;;
  rocm)
    gpu_args=(--device=/dev/kfd --device=/dev/dri --group-add video --cap-add=SYS_PTRACE
      --security-opt seccomp=unconfined --privileged --shm-size=64g)
    ;;
  *) echo "launch_docker: IX_DOCKER_GPU must be nvidia or rocm, got '$IX_DOCKER_GPU'" >&2; exit 1 ;;
esac
cleanup() { docker rm -f "$name" >/dev/null 2>&1 || true; }
trap cleanup EXIT
docker run --rm --init --network=host --ipc=host --name="$name" \
  "${gpu_args[@]}" \
  --ulimit memlock=-1 --ulimit stack=67108864 \
  "${mounts[@]}" -w /workspace/ "${env_args[@]}" \
  --entrypoint=/bin/bash "$IMAGE" "/ix/repo/$script_rel"
