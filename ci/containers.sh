#!/usr/bin/env bash
# Installs what the container tests need (CONTAINERS-LOCAL.md): podman with the runc runtime,
# skopeo, Debian's docker-registry (the distribution registry), busybox-static, and curl (copied
# with bash and ix into the test images, for the benchmark scripts' health checks).
# Idempotent. The tests start and stop their own loopback registry; nothing is started here.
set -euo pipefail
missing=()
for tool in podman runc skopeo docker-registry busybox curl; do
  command -v "$tool" >/dev/null || missing+=("$tool")
done
if [ "${#missing[@]}" -eq 0 ]; then
  echo "ci/containers: podman, runc, skopeo, docker-registry, busybox and curl already installed" >&2
  exit 0
fi
echo "ci/containers: installing podman runc skopeo docker-registry busybox-static curl (missing: ${missing[*]})" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq podman runc skopeo docker-registry busybox-static curl >/dev/null
echo "ci/containers: done" >&2
