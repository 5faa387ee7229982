#!/usr/bin/env python3
"""Benchmark: `rollwise serve` under hostile input (issues #20 and #15).

Starts the release binary on loopback (`--evidence-dir evals/scenarios/tune/public
--llm off`, `ulimit -n 256`, `[server]` from evals/bench/hostile.toml) and measures,
per phase, the server's peak RSS (VmHWM, reset between phases through
/proc/PID/clear_refs) and its CPU time (utime + stime) per request:

1. one bundle with a 50 MB log line on /v1/verdicts, then three at once;
2. one bundle of 400,000 short lines in one pod (14 MB), then three at once;
3. 32 unauthenticated 50 MB /v1/flagger requests (only the head is sent);
4. 300 connections that send half a request head and nothing more, while
   /healthz is called every 100 ms: its answers and latency, and how many of
   the slow connections the server closed;
5. 200 concurrent callers, 400 cold /v1/verdicts (p23, 48 KB, each bundle
   distinct): non-200 count, p50 / p99 latency;
6. the same with one bundle repeated (judged once, then answered from the
   cache): non-200 count, p50 / p99 latency (target p99 < 50 ms).

Usage: evals/bench/hostile.py [BINARY]   (writes evals/bench/hostile-results.md)
Only the Python standard library; no load tool to install.
"""

import asyncio
import json
import os
import resource
import socket
import subprocess
import sys
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "target/release/rollwise")
TOKEN = "bench-token"
PUBLIC = os.path.join(ROOT, "evals/scenarios/tune/public")
TICK = os.sysconf("SC_CLK_TCK")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


class Server:
    def __init__(self, port):
        self.port = port
        cfg = os.path.join(ROOT, "evals/bench/hostile.toml")

        def limit():
            resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))

        env = dict(os.environ, ROLLWISE_API_TOKEN=TOKEN, ROLLWISE_LOG="warn")
        self.proc = subprocess.Popen(
            [BIN, "serve", "--config", cfg, "--listen", f"127.0.0.1:{port}",
             "--evidence-dir", PUBLIC, "--llm", "off", "--store", "memory"],
            env=env, preexec_fn=limit, stderr=subprocess.DEVNULL)
        for _ in range(200):
            try:
                if http("GET", "/healthz", port=port)[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise SystemExit("the server did not start")

    def reset_peak(self):
        with open(f"/proc/{self.proc.pid}/clear_refs", "w") as f:
            f.write("5")

    def peak_mb(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM"):
                    return int(line.split()[1]) / 1024
        return float("nan")

    def cpu_s(self):
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICK

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=30)


def http(method, path, body=b"", headers=None, port=None, timeout=60):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    h = {"Host": "x", "Connection": "close", "Content-Length": str(len(body))}
    h.update(headers or {})
    head = f"{method} {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in h.items()) + "\r\n"
    s.sendall(head.encode() + body)
    out = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        out += chunk
    s.close()
    status = int(out.split(b" ", 2)[1]) if out else 0
    return status, out.split(b"\r\n\r\n", 1)[-1]


AUTH = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}


def bundle_with(lines):
    d = json.load(open(os.path.join(PUBLIC, "p03-inventory-go-panic.json")))
    d["logs"]["canary"][0]["lines"].extend(lines)
    return json.dumps(d).encode()


async def post_async(port, path, body, headers):
    t = time.monotonic()
    r, w = await asyncio.open_connection("127.0.0.1", port)
    h = {"Host": "x", "Connection": "close", "Content-Length": str(len(body))}
    h.update(headers)
    head = f"POST {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in h.items()) + "\r\n"
    w.write(head.encode() + body)
    await w.drain()
    out = await r.read()
    w.close()
    status = int(out.split(b" ", 2)[1]) if out else 0
    return status, time.monotonic() - t, out.split(b"\r\n\r\n", 1)[-1]


def phase(srv, name, requests, run):
    srv.reset_peak()
    cpu0 = srv.cpu_s()
    t0 = time.monotonic()
    detail = run()
    wall = time.monotonic() - t0
    cpu = srv.cpu_s() - cpu0
    return {"name": name, "requests": requests, "peak_mb": srv.peak_mb(),
            "cpu_ms_per_req": 1000 * cpu / max(requests, 1), "wall_s": wall, "detail": detail}


def concurrent_bundles(port, body, n):
    async def go():
        return await asyncio.gather(*[post_async(port, "/v1/verdicts", body, AUTH) for _ in range(n)])
    res = asyncio.run(go())
    codes = sorted({s for s, _, _ in res})
    v = json.loads(res[0][2]) if res[0][0] == 200 else {}
    text = res[0][2].decode(errors="replace")
    gap = "clipped while reading" in text or "dropped while reading" in text
    return f"status {codes}, verdict {v.get('verdict')}, gap in the reply: {gap}"


def main():
    port = free_port()
    srv = Server(port)
    idle_mb = srv.peak_mb()
    rows = []
    try:
        big_line = bundle_with(["E " + "x" * 50_000_000])
        many = bundle_with([f"I request {i} served in {i % 97} ms" for i in range(400_000)])
        for label, body in [("a 50 MB log line", big_line), ("400,000 lines (%d MB)" % (len(many) >> 20), many)]:
            for n in (1, 3):
                rows.append(phase(srv, f"/v1/verdicts, {label}, {n} at once", n,
                                  lambda b=body, n=n: concurrent_bundles(port, b, n)))
        del big_line, many

        def flagger():
            async def one():
                r, w = await asyncio.open_connection("127.0.0.1", port)
                w.write(b"POST /v1/flagger HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                        b"Content-Length: 50000000\r\nConnection: close\r\n\r\n")
                await w.drain()
                out = await asyncio.wait_for(r.read(), 10)
                w.close()
                return int(out.split(b" ", 2)[1]) if out else 0

            async def go():
                return await asyncio.gather(*[one() for _ in range(32)])
            codes = asyncio.run(go())
            return f"status {sorted(set(codes))}"
        rows.append(phase(srv, "/v1/flagger, 32 unauthenticated 50 MB heads", 32, flagger))

        def slow():
            socks = []
            for _ in range(300):
                s = socket.create_connection(("127.0.0.1", port), timeout=30)
                s.setblocking(False)
                try:
                    s.send(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
                except OSError:
                    pass
                socks.append(s)
            lat, fails = [], 0
            end = time.monotonic() + 8
            while time.monotonic() < end:
                t = time.monotonic()
                try:
                    ok = http("GET", "/healthz", port=port, timeout=5)[0] == 200
                except OSError:
                    ok = False
                lat.append(time.monotonic() - t)
                fails += not ok
                time.sleep(0.1)
            closed = 0
            for s in socks:
                s.setblocking(True)
                s.settimeout(0.2)
                try:
                    while True:
                        if not s.recv(4096):
                            closed += 1
                            break
                except ConnectionResetError:
                    closed += 1
                except OSError:
                    pass
                s.close()
            lat.sort()
            return (f"/healthz: {len(lat) - fails}/{len(lat)} answered, max {1000 * lat[-1]:.0f} ms; "
                    f"slow connections closed by the server: {closed}/300")
        rows.append(phase(srv, "300 slow-header connections (ulimit -n 256), 8 s", 300, slow))

        small = open(os.path.join(PUBLIC, "p23-product-catalog-not-ready.json"), "rb").read()
        p23 = json.loads(small)

        def distinct(i):
            # A bundle of its own per request (the same bundle is cached).
            b = dict(p23)
            b["name"] = f"{p23['name']}-{i}"
            return json.dumps(b).encode()

        def load(bodies):
            def run():
                async def go():
                    sem = asyncio.Semaphore(200)

                    async def one(body):
                        async with sem:
                            return await post_async(port, "/v1/verdicts", body, AUTH)
                    return await asyncio.gather(*[one(b) for b in bodies])
                res = asyncio.run(go())
                non200 = sum(1 for s, _, _ in res if s != 200)
                lat = sorted(t for _, t, _ in res)
                n = len(lat)
                return (f"non-200: {non200}/{n}; latency p50 {1000 * lat[n // 2 - 1]:.0f} ms, "
                        f"p99 {1000 * lat[int(n * 0.99) - 1]:.0f} ms, max {1000 * lat[-1]:.0f} ms")
            return run
        cold = [distinct(i) for i in range(400)]
        rows.append(phase(srv, "200 concurrent, 400 cold /v1/verdicts (p23, 48 KB, each a distinct bundle)",
                          400, load(cold)))
        # The same bundle repeated: judged once (this warm-up), then cached.
        http("POST", "/v1/verdicts", small, AUTH, port=port)
        rows.append(phase(srv, "200 concurrent, 400 cached /v1/verdicts (p23, the same bundle repeated)",
                          400, load([small] * 400)))
    finally:
        srv.stop()

    out = ["# Benchmark: rollwise serve under hostile input", "",
           f"Command: `evals/bench/hostile.py` (release build, loopback, `ulimit -n 256`, "
           f"`--evidence-dir evals/scenarios/tune/public --llm off --store memory`, "
           f"`[server]` from `evals/bench/hostile.toml`). Server RSS at start: {idle_mb:.0f} MB.", "",
           "| phase | peak RSS (VmHWM) | server CPU per request | wall | result |",
           "| --- | --- | --- | --- | --- |"]
    for r in rows:
        out.append(f"| {r['name']} | {r['peak_mb']:.0f} MB | {r['cpu_ms_per_req']:.1f} ms | "
                   f"{r['wall_s']:.1f} s | {r['detail']} |")
    out += ["", "VmHWM is reset to the current RSS before each phase, so a phase that allocates "
            "little shows what the allocator kept from the phases before it.", "",
            f"Machine: {os.cpu_count()} cores shared by server, load generator and other builds, "
            f"{os.uname().machine}, {time.strftime('%Y-%m-%d', time.gmtime())}."]
    text = "\n".join(out) + "\n"
    print(text)
    with open(os.path.join(ROOT, "evals/bench/hostile-results.md"), "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
