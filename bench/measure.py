#!/usr/bin/env python3
"""Times a command over repeated runs and reports wall time and peak RSS.

usage: python3 bench/measure.py [--runs N] [--cwd DIR] [--label TEXT] [--exit-code N] [--no-stderr] -- CMD ARGS...

Prints one line: label, runs, mean/min/max wall time in ms, mean CPU time (user + system; less sensitive to a
busy machine than wall time), peak RSS in MB (the largest of all
runs, from getrusage of the child). Output goes to /dev/null so printing is part of the cost but
the terminal is not; with --no-stderr, so do diagnostics.
"""
import argparse
import os
import resource
import subprocess
import sys
import time


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--cwd", default=None)
    parser.add_argument("--label", default=None)
    parser.add_argument("--exit-code", type=int, default=0, help="the exit code every run must have")
    parser.add_argument("--no-stderr", action="store_true", help="send the command's stderr to /dev/null too")
    parser.add_argument("cmd", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    cmd = args.cmd[1:] if args.cmd and args.cmd[0] == "--" else args.cmd
    if not cmd:
        parser.error("no command given")
    walls = []
    peak_kb = 0
    cpus = []
    for _ in range(args.runs):
        start = time.perf_counter()
        pid = os.fork()
        if pid == 0:
            if args.cwd:
                os.chdir(args.cwd)
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 1)
            if args.no_stderr:
                os.dup2(devnull, 2)
            os.execvp(cmd[0], cmd)
        _, status, usage = os.wait4(pid, 0)
        walls.append(time.perf_counter() - start)
        peak_kb = max(peak_kb, usage.ru_maxrss)
        cpus.append(usage.ru_utime + usage.ru_stime)
        if os.waitstatus_to_exitcode(status) != args.exit_code:
            print(f"command failed: {' '.join(cmd)}", file=sys.stderr)
            return 1
    label = args.label or " ".join(cmd)
    mean = sum(walls) / len(walls)
    print(
        f"{label}: runs={len(walls)} mean={mean * 1e3:.1f}ms min={min(walls) * 1e3:.1f}ms "
        f"max={max(walls) * 1e3:.1f}ms cpu_mean={sum(cpus) / len(cpus) * 1e3:.1f}ms peak_rss={peak_kb / 1024:.1f}MB"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
