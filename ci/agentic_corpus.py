#!/usr/bin/env python3
"""Writes a synthetic Weka-format agentic corpus of real-corpus size, for BENCHMARKS.md.

usage: agentic_corpus.py OUT.jsonl [TRACES] [SEED]

Defaults: 393 traces (the 062126 corpus), each a root of ~145 top-level turns whose prompts grow
from ~13k to ~60k tokens, with ~12 subagents of ~3.5 requests (5,147 conversations, 73,399
requests, 149 MB for seed 1). Block ids are local per trace; think times are short.
"""
import json
import random
import sys


def main():
    out = sys.argv[1]
    n_traces = int(sys.argv[2]) if len(sys.argv) > 2 else 393
    rng = random.Random(int(sys.argv[3]) if len(sys.argv) > 3 else 1)
    ids = [str(i) for i in range(20000)]
    with open(out, "w") as f:
        for t in range(n_traces):
            turns = rng.randint(110, 180)
            subagents = rng.randint(8, 16)
            spawn_at = set(rng.sample(range(1, turns - 1), subagents))
            blocks = rng.randint(150, 250)
            now = 0.0
            parts = []
            next_id = blocks
            for k in range(turns):
                blocks = min(blocks + rng.randint(2, 8), 1000)
                if blocks > next_id:
                    next_id = blocks
                api = round(rng.uniform(0.5, 4.0), 3)
                req = '{"t":%.3f,"type":"s","model":"m","in":%d,"out":%d,"hash_ids":[%s],"api_time":%s,"think_time":0.5}' % (
                    now, blocks * 64 + rng.randint(0, 63), rng.randint(30, 400), ",".join(ids[:blocks]), api)
                parts.append(req)
                now += api + 0.5
                if k in spawn_at:
                    inner = []
                    sub_t = now
                    start = next_id
                    size = rng.randint(100, 300)
                    for _ in range(rng.randint(2, 5)):
                        size += rng.randint(5, 20)
                        sub_ids = ids[:4] + [str(start + j) for j in range(size)]
                        inner.append('{"t":%.3f,"type":"n","model":"m","in":%d,"out":%d,"hash_ids":[%s],"api_time":1.0}' % (
                            sub_t, len(sub_ids) * 64, rng.randint(30, 300), ",".join(sub_ids)))
                        sub_t += 1.2
                    next_id = start + size + 1
                    parts.append('{"t":%.3f,"type":"subagent","agent_id":"a%d","duration_ms":%d,"requests":[%s]}' % (
                        now, k, int((sub_t - now) * 1000), ",".join(inner)))
                    now = sub_t + 0.2
            f.write('{"id":"gen-%05d","block_size":64,"hash_id_scope":"local","requests":[%s]}\n' % (t, ",".join(parts)))


if __name__ == "__main__":
    main()
