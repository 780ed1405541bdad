#!/usr/bin/env bash
bash "benchmarks/${EXP_NAME%%_*}_${PRECISION}_h100.sh"
