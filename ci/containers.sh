#!/usr/bin/env bash
# Installs what the container tests need (CONTAINERS-LOCAL.md): podman with the runc runtime,
# skopeo, Debian's docker-registry (the distribution registry) and busybox-static.
# Idempotent. The tests start and stop their own loopback registry; nothing is started here.
set -euo pipefail
missing=()
for tool in podman runc skopeo docker-registry busybox; do
  command -v "$tool" >/dev/null || missing+=("$tool")
done
if [ "${#missing[@]}" -eq 0 ]; then
  echo "ci/containers: podman, runc, skopeo, docker-registry and busybox already installed" >&2
  exit 0
fi
echo "ci/containers: installing podman runc skopeo docker-registry busybox-static (missing: ${missing[*]})" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq podman runc skopeo docker-registry busybox-static >/dev/null
echo "ci/containers: done" >&2
