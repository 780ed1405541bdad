#!/usr/bin/env bash
# `ix matrix full-sweep` beside InferenceX's generator, measured side by side in one run (runs
# interleaved, same machine load), for both InferenceX formats; then `ix check` of every master
# and archived file, the stage breakdown, and the same jobs from the lowered `.ix` files.
#
#   cargo build --release --locked && bash bench/matrix.sh
#
# The reference is InferenceX's own generator when checkouts are given:
#   IX_INFERENCEX_FEB=DIR   a checkout at 6e97ccc73 (configs in .github/configs/)
#   IX_INFERENCEX_HEAD=DIR  a checkout at 843c6254f (configs in configs/)
# and their outputs must equal ix's. Without them (this project's machines have no InferenceX
# code), the reference is bench/reference_floor.py: the generator's imports and its YAML loading
# alone, a lower bound of its time, on the files of ../shared/reference (or IX_REFERENCE_DIR).
# PYTHON (default python3) needs PyYAML and pydantic.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
ref="${IX_REFERENCE_DIR:-$root/../shared/reference}"
ix="${IX_BIN:-$root/target/release/ix}"
python="${PYTHON:-python3}"
runs="${IX_BENCH_RUNS:-40}"
ref_runs="${IX_BENCH_REF_RUNS:-10}"

# side LABEL DIR CONFIG_DIR CHECKOUT ARGS...: ix matrix ARGS beside the reference, in DIR.
side() {
  local label=$1 dir=$2 configs=$3 checkout=$4
  shift 4
  local files=("$configs/nvidia-master.yaml" "$configs/amd-master.yaml")
  local args=(--config-files "${files[@]}" --runner-config "$configs/runners.yaml")
  local reference same=()
  if [ -n "$checkout" ]; then
    local generator
    generator=$(find "$checkout/utils" -name generate_sweep_configs.py -type f | sort | head -n 1)
    reference="$python $generator $* ${args[*]}"
    same=(--same-output)
    label="$label, reference: InferenceX's generator"
  else
    reference="$python $root/bench/reference_floor.py ${files[*]} $configs/runners.yaml"
    label="$label, reference: its imports and YAML loading only (a lower bound)"
  fi
  "$python" "$root/bench/side_by_side.py" --runs "$runs" --ref-runs "$ref_runs" --cwd "$dir" --target 50 \
    "${same[@]}" --label "$label" --ix "$ix matrix $* ${args[*]}" --ref "$reference"
}

feb_dir=${IX_INFERENCEX_FEB:-$ref}
feb_configs=configs
[ -n "${IX_INFERENCEX_FEB:-}" ] && feb_configs=.github/configs
head_dir=${IX_INFERENCEX_HEAD:-$ref/head}
for mode in --single-node --multi-node; do
  side "Feb full-sweep $mode" "$feb_dir" "$feb_configs" "${IX_INFERENCEX_FEB:-}" full-sweep "$mode"
done
side "today's full-sweep (1,820 jobs, evals marked)" "$head_dir" configs "${IX_INFERENCEX_HEAD:-}" full-sweep

# `ix check` of every master and archived file of today's layout (three archives fail
# validation, as in InferenceX, hence exit code 1). Target: under 40 ms.
if [ -d "$ref/head/configs/deprecated" ]; then
  (
    cd "$ref/head"
    "$python" "$root/bench/measure.py" --runs "$runs" --exit-code 1 --no-stderr --label "ix check (today's masters + archive)" -- \
      "$ix" check configs/nvidia-master.yaml configs/amd-master.yaml configs/deprecated/*.yaml
  )
  # Where the time goes, stage by stage (thread CPU time, least of 100 runs in one process).
  cargo run --quiet --release --locked --example matrix_stages -- "$ref"
  # The same jobs from the lowered `.ix` files shipped in sweeps/ (the DSL front end).
  "$python" "$root/bench/measure.py" --runs "$runs" --cwd "$ref/head" --label "ix matrix full-sweep (sweeps/inferencex-{nvidia,amd}.ix)" -- \
    "$ix" matrix full-sweep --config-files "$root/sweeps/inferencex-nvidia.ix" "$root/sweeps/inferencex-amd.ix" \
    --runner-config configs/runners.yaml
fi
