#!/usr/bin/env bash
# shellcheck disable=SC1091 # benchmark_lib.sh sits beside this script
source "$(dirname "$0")/benchmark_lib.sh"
check_env_vars MODEL TP CONC
echo "{}" > "/workspace/$RESULT_FILENAME.json"
