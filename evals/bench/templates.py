#!/usr/bin/env python3
"""Benchmark: the judge on logs of mostly distinct templates (issue #20 item 4).

Builds a bundle from p03 (evals/scenarios/tune/public) whose canary pods carry
N extra lines of random words (letters only, so masking cannot fold them into
one template; 4 to 8 words a line, 8 canary pods), then runs `rollwise analyze
--evidence FILE --json` on it under /usr/bin/time and reports CPU (user + sys),
peak RSS and the verdict with what it says about the template cap.

Usage: evals/bench/templates.py BINARY [N ...]   (default N: 25000 100000 400000)
Prints one Markdown table row per N. Only the Python standard library.
"""

import json
import os
import random
import subprocess
import sys
import tempfile

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PUBLIC = os.path.join(ROOT, "evals/scenarios/tune/public")
PODS = 8


def bundle(n, seed=20):
    rng = random.Random(seed)
    letters = "abcdefghijklmnopqrstuvwxyz"
    d = json.load(open(os.path.join(PUBLIC, "p03-inventory-go-panic.json")))
    base = d["logs"]["canary"][0]
    pods = [dict(base, pod=f"{base['pod']}-x{i}", lines=[]) for i in range(PODS)]
    for i in range(n):
        words = ["".join(rng.choice(letters) for _ in range(rng.randint(3, 8)))
                 for _ in range(rng.randint(4, 8))]
        pods[i % PODS]["lines"].append("ERROR " + " ".join(words))
    d["logs"]["canary"].extend(pods)
    return d


def run(binary, n):
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(bundle(n), f)
        path = f.name
    try:
        p = subprocess.run(["/usr/bin/time", "-f", "%U %S %M %e", binary, "analyze",
                            "--evidence", path, "--json"], capture_output=True, text=True)
        user, sys_, rss_kb, wall = p.stderr.strip().splitlines()[-1].split()
        v = json.loads(p.stdout) if p.returncode == 0 else {}
        text = json.dumps(v)
        capped = "log template cap reached" in text
        return (f"| {n:,} | {float(user) + float(sys_):.2f} s | {int(rss_kb) // 1024} MB | "
                f"{float(wall):.2f} s | {v.get('verdict')} | {capped} |")
    finally:
        os.unlink(path)


def main():
    binary = sys.argv[1]
    ns = [int(x) for x in sys.argv[2:]] or [25_000, 100_000, 400_000]
    print("| distinct-template lines | CPU (user+sys) | peak RSS | wall | verdict | cap reported |")
    print("| --- | --- | --- | --- | --- | --- |")
    for n in ns:
        print(run(binary, n), flush=True)


if __name__ == "__main__":
    main()
