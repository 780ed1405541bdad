#!/usr/bin/env bash
# The live differential test: InferenceX's own tools and `ix` run on the same inputs, outputs
# compared. Where `../shared/reference` (the recorded conformance cases, CONTRIBUTING.md) is
# not beside the checkout, as on GitHub, this is how the reference behaviour is checked.
#
#   bash ci/differential.sh FEB_CHECKOUT HEAD_CHECKOUT [CASES]
#
# FEB_CHECKOUT and HEAD_CHECKOUT are InferenceX checkouts at the pinned commits 6e97ccc73
# (Feb 2026; the spec is ../shared/spec/REFERENCE-SEMANTICS.md) and 843c6254f (today's format;
# ../shared/spec/INFERENCEX-HEAD.md). CASES (default ci/differential-cases.txt) holds one case a
# line, `CHECKOUT TOOL ARGS...` with CHECKOUT `feb` or `head`:
#   matrix ARGS...        utils/matrix_logic/generate_sweep_configs.py ARGS vs `ix matrix ARGS`,
#                         both in the checkout: same exit status (0, 1, 2), same jobs (parsed
#                         JSON, list order included).
#   process-result DIR    process_result.py vs `ix results process`, with DIR/env as the whole
#                         environment and DIR/input.json as <RESULT_FILENAME>.json: same exit
#                         status, same record (numbers within 1e-12 relative, key order too).
#                         The reference's records are kept for the next `summarize` case.
#   summarize [DIR]       summarize.py vs `ix results summary` on DIR (default: the records
#                         the process-result cases wrote): same exit status, same table rows.
# Paths in ARGS are relative to the checkout, DIRs to this repository. `ix` is $IX (default:
# target/debug/ix, built by `cargo build`), Python is $PYTHON (default python3, with pydantic
# and PyYAML installed). Prints one line per case; exits 1 when any case differs.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

if [ "$#" -lt 2 ]; then
  echo "usage: ci/differential.sh FEB_CHECKOUT HEAD_CHECKOUT [CASES]" >&2
  exit 2
fi
feb=$(cd "$1" && pwd)
head=$(cd "$2" && pwd)
cases=${3:-ci/differential-cases.txt}
ix=${IX:-$repo/target/debug/ix}
python=${PYTHON:-python3}
case "$ix" in /*) ;; *) ix="$repo/$ix" ;; esac
[ -x "$ix" ] || { echo "ci/differential: no ix at $ix (run cargo build)" >&2; exit 2; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
records="$work/records"
mkdir -p "$records"

# The script named NAME under the checkout's utils/ (its place moved between commits).
tool() {
  local found
  found=$(find "$1/utils" -name "$2" -type f -print 2>/dev/null | sort | head -n 1)
  [ -n "$found" ] || { echo "ci/differential: no $2 under $1/utils" >&2; return 1; }
  printf '%s\n' "$found"
}

# Exit statuses as the conformance cases class them: 0, 2 (usage), 1 (any other error).
class() { case "$1" in 0) echo 0 ;; 2) echo 2 ;; *) echo 1 ;; esac; }

# Compares two JSON files: MODE `jobs` (parsed values, object key order free) or `record`
# (numbers within 1e-12 relative, object key order as written).
same_json() {
  "$python" - "$1" "$2" "$3" <<'PY'
import json, sys
mode, a_path, b_path = sys.argv[1:]
def load(path):
    with open(path) as f:
        return json.load(f)
def close(a, b, at, ordered):
    if isinstance(a, bool) or isinstance(b, bool):
        return None if a == b else f"{at}: {a!r} != {b!r}"
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return None if abs(a - b) <= 1e-12 * max(abs(b), 1e-300) else f"{at}: {a!r} != {b!r}"
    if isinstance(a, dict) and isinstance(b, dict):
        if ordered and list(a) != list(b):
            return f"{at}: keys {list(a)} != {list(b)}"
        if set(a) != set(b):
            return f"{at}: keys {sorted(a)} != {sorted(b)}"
        for key in b:
            err = close(a[key], b[key], f"{at}.{key}", ordered)
            if err:
                return err
        return None
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return f"{at}: {len(a)} items != {len(b)}"
        for idx, (x, y) in enumerate(zip(a, b)):
            err = close(x, y, f"{at}[{idx}]", ordered)
            if err:
                return err
        return None
    return None if a == b else f"{at}: {a!r} != {b!r}"
try:
    err = close(load(a_path), load(b_path), "$", mode == "record")
except (OSError, ValueError) as e:
    err = f"unreadable output: {e}"
if err:
    print(err)
    sys.exit(1)
PY
}

failed=0
n=0
report() {
  n=$((n + 1))
  if [ "$1" = ok ]; then
    echo "ok   $2"
  else
    failed=$((failed + 1))
    echo "DIFF $2: $3"
  fi
}

run_matrix() {
  local checkout=$1 name=$2
  shift 2
  local generator ref_status=0 ix_status=0
  generator=$(tool "$checkout" generate_sweep_configs.py) || { report diff "$name" "no generator"; return; }
  (cd "$checkout" && "$python" "$generator" "$@") >"$work/ref.out" 2>"$work/ref.err" || ref_status=$?
  (cd "$checkout" && "$ix" matrix "$@") >"$work/ix.out" 2>"$work/ix.err" || ix_status=$?
  if [ "$(class "$ref_status")" != "$(class "$ix_status")" ]; then
    report diff "$name" "exit $ix_status, reference exit $ref_status: $(tail -n 1 "$work/ref.err")"
  elif [ "$ref_status" -ne 0 ]; then
    report ok "$name"
  elif why=$(same_json jobs "$work/ix.out" "$work/ref.out"); then
    report ok "$name"
  else
    report diff "$name" "$why"
  fi
}

run_process_result() {
  local checkout=$1 name=$2 dir=$3
  local processor result_filename env_args=() ref_status=0 ix_status=0
  processor=$(tool "$checkout" process_result.py) || { report diff "$name" "no process_result.py"; return; }
  case "$dir" in /*) ;; *) dir="$repo/$dir" ;; esac
  while IFS= read -r line; do
    [ -n "$line" ] && env_args+=("$line")
  done <"$dir/env"
  result_filename=$(sed -n 's/^RESULT_FILENAME=//p' "$dir/env")
  rm -rf "$work/ref" "$work/ix"
  mkdir -p "$work/ref" "$work/ix"
  if [ -f "$dir/input.json" ]; then
    cp "$dir/input.json" "$work/ref/$result_filename.json"
    cp "$dir/input.json" "$work/ix/$result_filename.json"
  fi
  (cd "$work/ref" && env -i "PATH=$PATH" "${env_args[@]}" "$python" "$processor") >/dev/null 2>"$work/ref.err" || ref_status=$?
  (cd "$work/ix" && env -i "PATH=$PATH" "${env_args[@]}" "$ix" results process) >/dev/null 2>"$work/ix.err" || ix_status=$?
  local agg="agg_$result_filename.json"
  if [ "$(class "$ref_status")" != "$(class "$ix_status")" ]; then
    report diff "$name" "exit $ix_status, reference exit $ref_status: $(tail -n 1 "$work/ref.err")"
  elif [ "$ref_status" -ne 0 ]; then
    report ok "$name"
  elif why=$(same_json record "$work/ix/$agg" "$work/ref/$agg"); then
    cp "$work/ref/$agg" "$records/"
    report ok "$name"
  else
    report diff "$name" "$why"
  fi
}

run_summarize() {
  local checkout=$1 name=$2 dir=${3:-$records}
  local summarizer ref_status=0 ix_status=0
  summarizer=$(tool "$checkout" summarize.py) || { report diff "$name" "no summarize.py"; return; }
  case "$dir" in /*) ;; *) dir="$repo/$dir" ;; esac
  "$python" "$summarizer" "$dir" >"$work/ref.md" 2>"$work/ref.err" || ref_status=$?
  "$ix" results summary "$dir" >"$work/ix.md" 2>"$work/ix.err" || ix_status=$?
  # The table rows: the reference's disclaimer paragraph and `ix`'s notice lines differ on purpose.
  grep '^|' "$work/ref.md" >"$work/ref.rows" || true
  grep '^|' "$work/ix.md" >"$work/ix.rows" || true
  if [ "$(class "$ref_status")" != "$(class "$ix_status")" ]; then
    report diff "$name" "exit $ix_status, reference exit $ref_status: $(tail -n 1 "$work/ref.err")"
  elif [ "$ref_status" -eq 0 ] && [ ! -s "$work/ref.rows" ]; then
    report diff "$name" "the reference printed no table"
  elif ! cmp -s "$work/ix.rows" "$work/ref.rows"; then
    report diff "$name" "table rows differ: $(diff "$work/ix.rows" "$work/ref.rows" | head -n 3 | tr '\n' ' ')"
  else
    report ok "$name"
  fi
}

while read -r -u 3 -a words; do
  [ "${#words[@]}" -eq 0 ] && continue
  case "${words[0]}" in \#*) continue ;; esac
  which=${words[0]}
  what=${words[1]:-}
  args=("${words[@]:2}")
  case "$which" in
    feb) checkout=$feb ;;
    head) checkout=$head ;;
    *) echo "ci/differential: unknown checkout \`$which\` in $cases" >&2; exit 2 ;;
  esac
  name="$which $what ${args[*]}"
  case "$what" in
    matrix) run_matrix "$checkout" "$name" "${args[@]}" ;;
    process-result) run_process_result "$checkout" "$name" "${args[0]}" ;;
    summarize) run_summarize "$checkout" "$name" "${args[@]}" ;;
    *) echo "ci/differential: unknown tool \`$what\` in $cases" >&2; exit 2 ;;
  esac
done 3<"$cases"

if [ "$n" -eq 0 ]; then
  echo "ci/differential: no cases in $cases" >&2
  exit 2
fi
echo "ci/differential: $((n - failed)) of $n cases agree"
[ "$failed" -eq 0 ]
