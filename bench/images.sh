#!/usr/bin/env bash
# Benchmark of image resolution (`ix image resolve`); prints the figures recorded in BENCHMARKS.md.
#
#   bench/images.sh [IX_BINARY] [N_TAGS]     (default: target/debug/ix, 30 tags)
#
# Starts Debian's docker-registry on a free loopback port in a temporary folder, imports N_TAGS
# distinct images (a busybox root file system with a different marker file each) with podman,
# pushes each with skopeo under its own tag (spread over three repositories), then times
# `ix image resolve` of all the tags at once (20 runs, bench/measure.py). Needs ci/containers.sh.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
ix="$(realpath "${1:-$root/target/debug/ix}")"
n_tags="${2:-30}"
work="$(mktemp -d)"
registry_pid=""
images=()
cleanup() {
  if [[ -n "$registry_pid" ]]; then kill "$registry_pid" 2>/dev/null || true; fi
  if [[ ${#images[@]} -gt 0 ]]; then podman rmi --force --ignore "${images[@]}" >/dev/null 2>&1 || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
host="127.0.0.1:$port"
cat >"$work/config.yml" <<YAML
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $work/data
http:
  addr: $host
YAML
docker-registry serve "$work/config.yml" >"$work/registry.log" 2>&1 &
registry_pid=$!
for _ in $(seq 100); do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then break; fi
  sleep 0.1
done

mkdir -p "$work/rootfs/bin"
cp "$(command -v busybox)" "$work/rootfs/bin/busybox"
ln -s busybox "$work/rootfs/bin/sh"
refs=()
for i in $(seq "$n_tags"); do
  echo "$i" >"$work/rootfs/marker"
  tar -C "$work/rootfs" -cf "$work/rootfs.tar" .
  local_name="localhost/ix-bench-images-$$-$i:latest"
  podman import --quiet "$work/rootfs.tar" "$local_name" >/dev/null 2>>"$work/podman.log"
  images+=("$local_name")
  ref="$host/bench$((i % 3))/app:v$i"
  skopeo copy --quiet --dest-tls-verify=false "containers-storage:$local_name" "docker://$ref" 2>>"$work/podman.log"
  refs+=("$ref")
done
echo "bench/images: pushed $n_tags tags to $host" >&2

distinct="$("$ix" image resolve "${refs[@]}" | cut -d' ' -f2 | sort -u | wc -l)"
echo "== ix image resolve of $n_tags tags ($distinct distinct digests)"
python3 "$root/bench/measure.py" --runs 20 --label "resolve $n_tags tags" -- "$ix" image resolve "${refs[@]}"
echo "== ix image resolve of 1 tag"
python3 "$root/bench/measure.py" --runs 20 --label "resolve 1 tag" -- "$ix" image resolve "${refs[0]}"

# Cold `ix plan` of both vendor master configs (../shared/reference/configs), with every distinct
# image rewritten to one of the pushed tags: without and with `--resolve-images` (the docker
# executor, so that every image is resolved by the registry).
reference="${IX_REFERENCE_DIR:-$root/../shared/reference}"
if [[ -d "$reference/configs" ]]; then
  project="$work/plan"
  mkdir -p "$project"
  cp "$reference/configs/amd-master.yaml" "$reference/configs/nvidia-master.yaml" "$reference/configs/runners.yaml" "$project/"
  # As in bench/engine.sh: the vendor runners file lacks a runner type the nvidia sweep uses.
  printf "h200-multinode-slurm:\n- 'h200-dgxc-slurm_0'\n" >>"$project/runners.yaml"
  mapfile -t vendor_images < <(grep -h '^  image:' "$project/amd-master.yaml" "$project/nvidia-master.yaml" | awk '{print $2}' | tr -d "\"'" | sort -u)
  i=0
  for image in "${vendor_images[@]}"; do
    replacement="${refs[$((i % ${#refs[@]}))]}"
    python3 - "$project" "$image" "$replacement" <<'PY'
import pathlib, sys
project, image, replacement = sys.argv[1], sys.argv[2], sys.argv[3]
for name in ("amd-master.yaml", "nvidia-master.yaml"):
    path = pathlib.Path(project, name)
    lines = path.read_text().split("\n")
    out = []
    for line in lines:
        if line.startswith("  image:") and line.split(":", 1)[1].strip().strip("'\"") == image:
            line = f"  image: {replacement}"
        out.append(line)
    path.write_text("\n".join(out))
PY
    i=$((i + 1))
  done
  # A stub for every script and launcher the naming rules ask for.
  for _ in 1 2 3; do
    # shellcheck disable=SC2016 # backticks are literal in ix's messages
    missing="$(cd "$project" || exit 1; NO_COLOR=1 "$ix" plan amd-master.yaml nvidia-master.yaml --runner-config runners.yaml 2>&1 >/dev/null | grep -oE '(script|launcher) `[^`]+` does not exist' | cut -d'`' -f2 | sort -u || true)"
    [[ -z "$missing" ]] && break
    while IFS= read -r file; do
      mkdir -p "$project/$(dirname "$file")"
      printf '#!/usr/bin/env bash\necho %s\n' "$file" >"$project/$file"
    done <<<"$missing"
  done
  echo "== cold ix plan of both vendor files (${#vendor_images[@]} distinct images on $host)"
  (cd "$project" && python3 "$root/bench/measure.py" --runs 20 --label "plan" -- \
    "$ix" plan amd-master.yaml nvidia-master.yaml --runner-config runners.yaml --executor docker)
  echo "== the same with --resolve-images"
  (cd "$project" && python3 "$root/bench/measure.py" --runs 20 --label "plan --resolve-images" -- \
    "$ix" plan amd-master.yaml nvidia-master.yaml --runner-config runners.yaml --executor docker --resolve-images)
fi
