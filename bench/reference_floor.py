#!/usr/bin/env python3
"""The part of InferenceX's matrix generator that comes before any of its own logic: importing
its libraries (PyYAML, pydantic) and loading each YAML file with PyYAML's pure-Python safe
loader, as the generator does. Its time is a lower bound of the generator's, for benchmarks on
machines without an InferenceX checkout (bench/matrix.sh runs the real generator when it has one).

usage: python3 bench/reference_floor.py FILE...
"""
import sys

import pydantic  # noqa: F401  (imported for its cost: the generator imports it)
import yaml

for path in sys.argv[1:]:
    with open(path, encoding="utf-8") as handle:
        yaml.safe_load(handle)
