//! `ix evals ...`: collecting lm-eval outputs, thresholds, and a real run against llama.cpp.
