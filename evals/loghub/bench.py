"""LogHub grouping accuracy and throughput: rollwise's template miner vs drain3.

Run through bench.sh, which builds rollwise and provides the venv. Datasets are
read from LOGHUB_DIR (default evals/loghub/data, the repository's copy): for each
<Name>/<Name>_2k.log_structured.csv, the Content column is the input (one
message per line) and EventId the ground truth. Nothing from LogHub is written
into the repository; the throughput corpus is a temporary file.
"""

import csv
import glob
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict

from drain3 import TemplateMiner
from drain3.masking import MaskingInstruction
from drain3.template_miner_config import TemplateMinerConfig

LOGHUB_DIR = os.environ.get(
    "LOGHUB_DIR", os.path.join(os.path.dirname(os.path.abspath(__file__)), "data"))
ROLLWISE = os.environ.get("ROLLWISE_CLUSTER", "target/release/examples/cluster")
THROUGHPUT_LINES = int(os.environ.get("THROUGHPUT_LINES", "1000000"))
CORE = os.environ.get("BENCH_CORE", "0")
RUNS = int(os.environ.get("BENCH_RUNS", "3"))

# The masking list of drain3's own examples/drain3.ini (IDs, IPs, hex sequences,
# hex numbers, decimal numbers): the usual way drain3 is run on LogHub.
DRAIN3_MASKS = [
    (r"((?<=[^A-Za-z0-9])|^)(([0-9a-f]{2,}:){3,}([0-9a-f]{2,}))((?=[^A-Za-z0-9])|$)", "ID"),
    (r"((?<=[^A-Za-z0-9])|^)(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})((?=[^A-Za-z0-9])|$)", "IP"),
    (r"((?<=[^A-Za-z0-9])|^)([0-9a-f]{6,} ?){3,}((?=[^A-Za-z0-9])|$)", "SEQ"),
    (r"((?<=[^A-Za-z0-9])|^)([0-9A-F]{4} ?){4,}((?=[^A-Za-z0-9])|$)", "SEQ"),
    (r"((?<=[^A-Za-z0-9])|^)(0x[a-f0-9A-F]+)((?=[^A-Za-z0-9])|$)", "HEX"),
    (r"((?<=[^A-Za-z0-9])|^)([\-\+]?\d+)((?=[^A-Za-z0-9])|$)", "NUM"),
]


def drain3_miner(masked):
    cfg = TemplateMinerConfig()  # sim_th 0.4, depth 4, max_children 100, numeric tokens parametrised
    cfg.profiling_enabled = False
    if masked:
        cfg.masking_instructions = [MaskingInstruction(p, m) for p, m in DRAIN3_MASKS]
    return TemplateMiner(config=cfg)


def datasets():
    for path in sorted(glob.glob(os.path.join(LOGHUB_DIR, "*", "*_structured.csv"))):
        name = os.path.basename(os.path.dirname(path))
        with open(path, newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
        yield name, [r["Content"] for r in rows], [r["EventId"] for r in rows]


def grouping_accuracy(truth, predicted):
    """LogPAI's GA: a line counts iff its predicted group holds exactly the lines
    of its true group."""
    truth_sizes = Counter(truth)
    groups = defaultdict(list)
    for t, p in zip(truth, predicted):
        groups[p].append(t)
    correct = 0
    for members in groups.values():
        ids = set(members)
        if len(ids) == 1 and truth_sizes[members[0]] == len(members):
            correct += len(members)
    return correct / len(truth)


def clean(line):
    # One message per line for the Rust side; LogHub contents have no newlines,
    # but be safe so that line counts always agree.
    return line.replace("\r", " ").replace("\n", " ")


def rollwise_ids(lines):
    data = ("\n".join(clean(l) for l in lines) + "\n").encode()
    out = subprocess.run([ROLLWISE], input=data, capture_output=True, check=True).stdout
    ids = out.decode().split()
    assert len(ids) == len(lines), (len(ids), len(lines))
    return ids


def drain3_ids(lines, masked):
    miner = drain3_miner(masked)
    return [miner.add_log_message(l)["cluster_id"] for l in lines]


def accuracy_table():
    rows = []
    for name, lines, truth in datasets():
        rows.append(
            {
                "dataset": name,
                "lines": len(lines),
                "events": len(set(truth)),
                "rollwise": grouping_accuracy(truth, rollwise_ids(lines)),
                "drain3": grouping_accuracy(truth, drain3_ids(lines, False)),
                "drain3_masked": grouping_accuracy(truth, drain3_ids(lines, True)),
            }
        )
    return rows


def throughput_corpus(all_lines, path=None):
    if path is None:
        f = tempfile.NamedTemporaryFile("w", suffix=".log", delete=False, encoding="utf-8")
    else:
        f = open(path, "w", encoding="utf-8")
    n = 0
    while n < THROUGHPUT_LINES:
        for l in all_lines:
            f.write(clean(l) + "\n")
            n += 1
            if n >= THROUGHPUT_LINES:
                break
    f.close()
    return f.name, n


def drain3_worker(path, masked):
    """Runs in a child pinned to one core: mines the file, prints lines/s."""
    with open(path, encoding="utf-8") as f:
        lines = [l.rstrip("\n") for l in f]
    miner = drain3_miner(masked)
    start = time.perf_counter()
    for l in lines:
        miner.add_log_message(l)
    elapsed = time.perf_counter() - start
    print(json.dumps({"lines": len(lines), "seconds": elapsed}))


def pinned(cmd, **kw):
    return subprocess.run(["taskset", "-c", CORE] + cmd, check=True, **kw)


def rollwise_seconds(path, args):
    with open(path, "rb") as inp:
        start = time.perf_counter()
        pinned([ROLLWISE] + args, stdin=inp, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return time.perf_counter() - start


def drain3_seconds(path, masked):
    out = pinned(
        [sys.executable, __file__, "--drain3-worker", path, "masked" if masked else "plain"],
        capture_output=True,
    ).stdout
    return json.loads(out)["seconds"]


def throughput(all_lines):
    """Best of RUNS for every miner, the runs interleaved so that load on a
    shared machine hits all of them alike."""
    path, n = throughput_corpus(all_lines)
    miners = {
        "rollwise_lps": lambda: rollwise_seconds(path, []),
        "rollwise_nomemo_lps": lambda: rollwise_seconds(path, ["--no-memo"]),
        "drain3_lps": lambda: drain3_seconds(path, False),
        "drain3_masked_lps": lambda: drain3_seconds(path, True),
    }
    try:
        best = {}
        for _ in range(RUNS):
            for key, run in miners.items():
                seconds = run()
                best[key] = min(best.get(key, seconds), seconds)
        return {"lines": n, **{k: n / s for k, s in best.items()}}
    finally:
        os.unlink(path)


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "--drain3-worker":
        drain3_worker(sys.argv[2], sys.argv[3] == "masked")
        return
    if len(sys.argv) == 3 and sys.argv[1] == "--write-corpus":
        # The throughput corpus, kept for profiling (callgrind) outside the repository.
        all_lines = [l for _, lines, _ in datasets() for l in lines]
        print(throughput_corpus(all_lines, sys.argv[2]))
        return
    rows = accuracy_table()
    print("| dataset | lines | events | rollwise GA | drain3 GA (no masking) | drain3 GA (drain3.ini masking) |")
    print("|---|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['dataset']} | {r['lines']} | {r['events']} | {r['rollwise']:.3f} | {r['drain3']:.3f} | {r['drain3_masked']:.3f} |")
    mean = {k: sum(r[k] for r in rows) / len(rows) for k in ("rollwise", "drain3", "drain3_masked")}
    print(f"| **mean** | | | **{mean['rollwise']:.3f}** | {mean['drain3']:.3f} | {mean['drain3_masked']:.3f} |")
    if "--no-throughput" in sys.argv:
        return
    all_lines = [l for _, lines, _ in datasets() for l in lines]
    t = throughput(all_lines)
    print()
    print(f"Throughput on {t['lines']} lines, pinned to core {CORE} (taskset), best of {RUNS} interleaved runs:")
    print(f"- rollwise: {t['rollwise_lps']:,.0f} lines/s (whole process incl. I/O)")
    print(f"- rollwise --no-memo: {t['rollwise_nomemo_lps']:,.0f} lines/s (whole process incl. I/O)")
    print(f"- drain3 (no masking): {t['drain3_lps']:,.0f} lines/s (add_log_message loop only)")
    print(f"- drain3 (drain3.ini masking): {t['drain3_masked_lps']:,.0f} lines/s (add_log_message loop only)")
    for key, name in (("rollwise_lps", "rollwise"), ("rollwise_nomemo_lps", "rollwise --no-memo")):
        print(f"- ratio {name} / drain3: {t[key] / t['drain3_lps']:.1f}x (no masking), "
              f"{t[key] / t['drain3_masked_lps']:.1f}x (masking)")


if __name__ == "__main__":
    main()
