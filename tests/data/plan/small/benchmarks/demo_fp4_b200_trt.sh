#!/usr/bin/env bash
source "$(dirname "$0")/benchmark_lib.sh"
check_env_vars MODEL TP CONC
echo "{}" > "/workspace/$RESULT_FILENAME.json"
