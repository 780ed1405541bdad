#!/usr/bin/env bash
# A/B of a cold `ix plan` over both vendor master configs with a state store holding a record of
# every task (2,490 records, each with one artifact), between two `ix` binaries, interleaved so
# that machine load hits both alike. Prints each binary's stage times, sorted.
#
#   bench/plan-ab.sh IX_A IX_B [RUNS]     (RUNS per binary, default 15)
set -euo pipefail
ix_a="$1"
ix_b="$2"
runs="${3:-15}"
root="$(cd "$(dirname "$0")/.." && pwd)"
reference="${IX_REFERENCE_DIR:-$root/../shared/reference}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

for who in a b; do
  ix="$ix_a"
  [[ "$who" == b ]] && ix="$ix_b"
  dir="$work/$who"
  mkdir -p "$dir"
  cp "$reference/configs/nvidia-master.yaml" "$reference/configs/amd-master.yaml" "$reference/configs/runners.yaml" "$dir/"
  printf "h200-multinode-slurm:\n- 'h200-dgxc-slurm_0'\n" >>"$dir/runners.yaml"
  # Stub every script and launcher the naming rules ask for (as bench/engine.sh does).
  for _ in 1 2 3; do
    # shellcheck disable=SC2016 # backticks are literal in ix's messages
    missing="$(cd "$dir" || exit 1; NO_COLOR=1 "$ix" plan nvidia-master.yaml amd-master.yaml 2>&1 >/dev/null | grep -oE '(script|launcher) `[^`]+` does not exist' | cut -d'`' -f2 | sort -u || true)"
    [[ -z "$missing" ]] && break
    while IFS= read -r file; do
      mkdir -p "$dir/$(dirname "$file")"
      printf '#!/usr/bin/env bash\necho %s\n' "$file" >"$dir/$file"
    done <<<"$missing"
  done
  (cd "$dir" && "$ix" plan nvidia-master.yaml amd-master.yaml --record-fake success >/dev/null)
done

for _ in $(seq "$runs"); do
  for who in a b; do
    ix="$ix_a"
    [[ "$who" == b ]] && ix="$ix_b"
    (cd "$work/$who" && "$ix" plan nvidia-master.yaml amd-master.yaml --timings 2>&1 >/dev/null | grep timings | sed "s/^/$who /")
  done
done >"$work/times"
for who in a b; do
  for stage in plan total; do
    values="$(grep "^$who " "$work/times" | grep -oE "$stage [0-9.]+ ms" | awk '{ print $2 }' | sort -n | tr '\n' ' ')"
    median="$(tr ' ' '\n' <<<"$values" | grep . | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')"
    echo "$who $stage: median $median ms (sorted: $values)"
  done
done
