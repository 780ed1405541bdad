#!/usr/bin/env bash
# Shared helpers (test fixture).
check_env_vars() { :; }
