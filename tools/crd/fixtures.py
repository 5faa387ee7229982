"""Converts Argo Rollouts' test objects (../shared/data/argo-rollouts, copied
byte-for-byte from argoproj/argo-rollouts@9f8d111, Apache-2.0) to JSON fixtures
under tools/fixtures/, one file per object, so tests need no YAML parser.

usage: python3 tools/crd/fixtures.py /path/to/shared/data/argo-rollouts
"""
import json
import os
import sys

import yaml

FILES = [
    "testdata/rollout-aborted/analysisrun.yaml",
    "testdata/rollout-aborted/rollout.yaml",
    "testdata/rollout-aborted/rs1.yaml",
    "testdata/rollout-aborted/rs2.yaml",
    "testdata/rollout-aborted/pod1.yaml",
    "testdata/canary/canary-rollout.yaml",
    "testdata/canary/canary-rollout5.yaml",
    "testdata/canary/canary-rs.yaml",
    "testdata/canary/stable-rs.yaml",
    "testdata/canary/canary-pod.yaml",
    "testdata/canary/stable-pod1.yaml",
    "testdata/blue-green/bluegreen-rollout.yaml",
    "testdata/experiment-analysis/canary-analysis.yaml",
    "testdata/analysis-run-job.yaml",
    "examples/rollout-canary.yaml",
    "examples/rollout-analysis-step.yaml",
    "examples/rollout-background-analysis.yaml",
    "examples/rollout-secret.yaml",
]


def main():
    src = sys.argv[1]
    out = os.path.join(os.path.dirname(__file__), "..", "fixtures")
    os.makedirs(out, exist_ok=True)
    for rel in FILES:
        with open(os.path.join(src, rel)) as f:
            docs = [d for d in yaml.safe_load_all(f) if d]
        for d in docs:
            name = "%s-%s-%s.json" % (
                rel.split("/")[-2] if rel.startswith("testdata/") and rel.count("/") == 2 else "ex",
                d["kind"].lower(),
                d["metadata"].get("name") or d["metadata"].get("generateName", "x").rstrip("-"),
            )
            with open(os.path.join(out, name), "w") as f:
                json.dump(d, f, indent=1, sort_keys=True, default=str)
                f.write("\n")
            print(name)


if __name__ == "__main__":
    main()
