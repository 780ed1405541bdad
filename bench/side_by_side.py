#!/usr/bin/env python3
"""Times `ix` and a reference command side by side in one run, their runs interleaved, and
prints both and the ratio.

usage: python3 bench/side_by_side.py [--runs N] [--ref-runs M] [--cwd DIR] [--target X]
           [--same-output] --label TEXT --ix 'CMD ARGS' --ref 'CMD ARGS'

Each command is split like a shell line (no shell runs it). The runs alternate (ix, reference,
ix, ...; the reference only for its first M rounds), so both see the same machine load. Prints
one line per command (mean, median and min wall time, mean CPU time, peak RSS of its children)
and the ratios reference/ix of the means and the medians; with --target, whether the mean ratio
reaches it. --same-output also runs each command once more with its output kept and fails
unless both print the same JSON value (InferenceX's generator and `ix matrix`). Output goes to
/dev/null in the timed runs, so printing is part of the cost but the terminal is not.
"""
import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import time


def timed(cmd, cwd):
    """One run: (wall seconds, CPU seconds, peak RSS in KB)."""
    start = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        try:
            if cwd:
                os.chdir(cwd)
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 1)
            os.execvp(cmd[0], cmd)
        finally:
            os._exit(127)
    _, status, usage = os.wait4(pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"command failed: {shlex.join(cmd)}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss


def summary(label, runs):
    walls = [wall for wall, _, _ in runs]
    cpus = [cpu for _, cpu, _ in runs]
    peak = max(rss for _, _, rss in runs)
    line = (
        f"{label}: runs={len(runs)} mean={statistics.mean(walls) * 1e3:.1f}ms "
        f"median={statistics.median(walls) * 1e3:.1f}ms min={min(walls) * 1e3:.1f}ms "
        f"cpu_mean={statistics.mean(cpus) * 1e3:.1f}ms peak_rss={peak / 1024:.1f}MB"
    )
    return line, statistics.mean(walls), statistics.median(walls)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=30, help="runs of ix")
    parser.add_argument("--ref-runs", type=int, default=10, help="runs of the reference")
    parser.add_argument("--cwd", default=None)
    parser.add_argument("--label", required=True)
    parser.add_argument("--ix", required=True)
    parser.add_argument("--ref", required=True)
    parser.add_argument("--target", type=float, default=None, help="the speed-up to reach")
    parser.add_argument("--same-output", action="store_true")
    args = parser.parse_args()
    ix, ref = shlex.split(args.ix), shlex.split(args.ref)
    if args.same_output:
        outputs = [
            subprocess.run(cmd, cwd=args.cwd, check=True, capture_output=True, text=True).stdout for cmd in (ix, ref)
        ]
        if json.loads(outputs[0]) != json.loads(outputs[1]):
            print(f"{args.label}: ix and the reference print different jobs", file=sys.stderr)
            return 1
    ix_runs, ref_runs = [], []
    for round_ in range(max(args.runs, args.ref_runs)):
        if round_ < args.runs:
            ix_runs.append(timed(ix, args.cwd))
        if round_ < args.ref_runs:
            ref_runs.append(timed(ref, args.cwd))
    ix_line, ix_mean, ix_median = summary(f"{args.label} | ix", ix_runs)
    ref_line, ref_mean, ref_median = summary(f"{args.label} | reference", ref_runs)
    ratio = ref_mean / ix_mean
    verdict = ""
    if args.target is not None:
        verdict = f" (target {args.target:g}x: {'met' if ratio >= args.target else 'NOT met'})"
    print(ix_line)
    print(ref_line)
    print(f"{args.label} | ratio: {ratio:.1f}x by mean, {ref_median / ix_median:.1f}x by median{verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
