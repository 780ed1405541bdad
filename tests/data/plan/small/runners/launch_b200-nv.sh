#!/usr/bin/env bash
bash "benchmarks/${EXP_NAME%%_*}_${PRECISION}_b200_trt.sh"
