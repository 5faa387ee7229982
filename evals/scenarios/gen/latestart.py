#!/usr/bin/env python3
"""Tune scenarios for late-starting dependencies in stacks not yet in the set, each kind
with a counter-case (stdlib, fixed seed, reproducible):
python3 evals/scenarios/gen/latestart.py writes evals/scenarios/tune/latestart/.

A sidecar or dependency (pgbouncer, cloud-sql-proxy, a Redis sidecar, a Vault agent, the
mesh proxy) comes up after the application, so the application logs failures while it
starts, then becomes ready and is healthy. Variations that change what a reader can
infer: logs without timestamps (uvicorn), Go's standard logger (`2026/12/02 15:04:05`),
env_logger's bracketed RFC 3339, a readiness probe answered 503 while the app waits, and
a version 2 bundle whose readyAt is the only reliable readiness.

Labels were written with the case, before the judge was run on it.
"""
import datetime as dt
import json
import os
import random

r = random.Random(23)
t0 = dt.datetime(2026, 12, 3, 10, 0, 0, tzinfo=dt.timezone.utc)
WINDOW = 600


def at(s):
    return t0 + dt.timedelta(seconds=s)


def iso(s):
    return at(s).strftime('%Y-%m-%dT%H:%M:%S.%f')[:-3] + 'Z'


def series(base, n=10, spread=0.1):
    return [round(base * r.uniform(1 - spread, 1 + spread), 6) for _ in range(n)]


def pods(names, v2=False, ready_after=5):
    out = []
    for p in names:
        d = {"name": p, "ready": True, "restarts": 0}
        if v2:
            d["startedAt"] = iso(0)
            d["readyAt"] = iso(ready_after)
        out.append(d)
    return out


def bundle(name, desc, ns, app, metrics, cp, sp, clog, slog, expected, events=(), traffic=None, v2=False,
           ready_after=5, weight=20):
    b = {"version": 2 if v2 else 1, "name": name, "description": desc,
         "rollout": {"namespace": ns, "name": app, "step": 1, "canaryWeight": weight},
         "window": {"start": iso(0), "end": iso(WINDOW)}, "metrics": metrics}
    if traffic:
        b["traffic"] = {"canaryRequests": traffic[0], "stableRequests": traffic[1]}
    b["pods"] = {"canary": pods(cp, v2, ready_after), "stable": pods(sp, v2 and False)}
    b["events"] = list(events)
    b["logs"] = {"canary": [{"pod": p, "lines": clog()} for p in cp],
                 "stable": [{"pod": p, "lines": slog()} for p in sp]}
    b["expected"] = expected
    return b


def std_metrics(err_c=0.002, err_s=0.002):
    return [{"name": "error_rate", "unit": "ratio", "better": "lower", "critical": True,
             "canary": series(err_c), "stable": series(err_s)},
            {"name": "latency_p95_ms", "unit": "ms", "better": "lower", "canary": series(70), "stable": series(70)}]


# 1. FastAPI under uvicorn, asyncpg through a pgbouncer sidecar. uvicorn's default format
#    has no timestamps: only the order of lines says what came first.

def uvicorn_pod(canary, persist=False):
    out = ["INFO:     Started server process [1]", "INFO:     Waiting for application startup."]
    if canary:
        for i in range(4):
            out += [f"WARNING:  database not reachable yet (attempt {i + 1}/10), retrying in 2.0s",
                    "Traceback (most recent call last):",
                    "  File \"/app/quotes/db.py\", line 31, in connect",
                    "    return await asyncpg.create_pool(dsn, min_size=2)",
                    "  File \"/usr/local/lib/python3.12/site-packages/asyncpg/connect_utils.py\", line 1049, in _create_ssl_connection",
                    "    tr, pr = await loop.create_connection(",
                    "ConnectionRefusedError: [Errno 111] Connect call failed ('127.0.0.1', 6432)"]
    out += ["INFO:     Application startup complete.", "INFO:     Uvicorn running on http://0.0.0.0:8000 (Press CTRL+C to quit)"]
    for i in range(700):
        out.append(f"INFO:     10.4.{r.randint(0, 9)}.{r.randint(2, 250)}:{r.randint(30000, 60000)} - \"GET /v1/fx/{r.choice(['EURUSD', 'GBPUSD', 'USDJPY'])} HTTP/1.1\" 200 OK")
        if persist and i % 40 == 17:
            out += ["ERROR:    database connection lost, reconnecting",
                    "ConnectionRefusedError: [Errno 111] Connect call failed ('127.0.0.1', 6432)"]
    return out


# 2. Go with the standard logger and pgx, behind cloud-sql-proxy.

def golog(s, msg):
    return f"{at(s).strftime('%Y/%m/%d %H:%M:%S')} {msg}"


def go_pod(canary, persist=False):
    out = [golog(0, "ledger-api 4.2.0 starting")]
    s = 0.5
    if canary:
        for i in range(8):
            out.append(golog(s, f"db: connect failed: failed to connect to `host=127.0.0.1 user=ledger database=ledger`: dial error (dial tcp 127.0.0.1:5432: connect: connection refused); retrying in 2s ({i + 1}/30)"))
            s += 2
    out.append(golog(s, "db: connected, pool size 10"))
    out.append(golog(s, "http: listening on :8080"))
    s += 1
    while s < WINDOW:
        out.append(golog(s, f"http: {r.choice(['GET', 'POST'])} /v1/entries {r.choice([200, 200, 200, 201])} {r.randint(2, 40)}ms"))
        if persist and r.random() < 0.04:
            out.append(golog(s, "db: query failed: failed to connect to `host=127.0.0.1 user=ledger database=ledger`: dial error (dial tcp 127.0.0.1:5432: connect: connection refused)"))
        s += r.uniform(0.5, 2.0)
    return out


# 3. actix-web with env_logger, Redis sidecar; the readiness probe is answered 503 while
#    the app waits for Redis (the app listens first, then reports not ready). v2 bundle.

def envlog(s, lvl, target, msg):
    return f"[{at(s).strftime('%Y-%m-%dT%H:%M:%S')}Z {lvl:<5} {target}] {msg}"


def actix_pod(canary):
    out = [envlog(0, "INFO", "actix_server::builder", "starting 2 workers"),
           envlog(0, "INFO", "actix_server::server", "Actix runtime found; starting in Actix runtime"),
           envlog(0.1, "INFO", "actix_server::server", "starting service: \"actix-web-service-0.0.0.0:8080\", workers: 2, listening on: 0.0.0.0:8080")]
    s = 0.5
    if canary:
        for i in range(9):
            out.append(envlog(s, "WARN", "sessions::cache", f"redis not ready: Connection refused (os error 111); readiness reports 503 (attempt {i + 1})"))
            s += 3
        out.append(envlog(s, "INFO", "sessions::cache", "redis connected at 127.0.0.1:6379"))
    while s < WINDOW:
        out.append(envlog(s, "INFO", "actix_web::middleware::logger", f"10.8.{r.randint(0, 9)}.{r.randint(2, 250)} \"GET /v1/session/{r.randint(1000, 9999)} HTTP/1.1\" 200 {r.randint(80, 400)} \"-\" \"okhttp/4.12.0\" 0.00{r.randint(1000, 9999)}"))
        s += r.uniform(0.5, 2.0)
    return out


# 4. NestJS reading credentials a Vault agent renders into a file: until the agent has
#    rendered it, the app cannot open it.

def nest(s, lvl, ctx, msg):
    return f"[Nest] 1  - {at(s).strftime('%m/%d/%Y, %I:%M:%S %p')}   {lvl:>5} [{ctx}] {msg}"


def nest_pod(canary, persist_missing=False):
    out = [nest(0, "LOG", "NestFactory", "Starting Nest application...")]
    s = 0.2
    if canary:
        for i in range(5 if not persist_missing else 0):
            out.append(nest(s, "WARN", "VaultCredentials", f"credentials file not rendered yet: ENOENT: no such file or directory, open '/vault/secrets/db.json' (attempt {i + 1}/20)"))
            s += 2
    out += [nest(s, "LOG", "InstanceLoader", "AppModule dependencies initialized"),
            nest(s, "LOG", "RoutesResolver", "ClaimsController {/v1/claims}:"),
            nest(s, "LOG", "NestApplication", "Nest application successfully started")]
    s += 1
    while s < WINDOW:
        out.append(nest(s, "LOG", "HTTP", f"GET /v1/claims/{r.randint(10000, 99999)} 200 {r.randint(3, 50)}ms"))
        s += r.uniform(0.6, 2.4)
    return out


# 5. Rails/Puma whose initializer fetches feature flags through the mesh proxy before the
#    proxy is up (no holdApplicationUntilProxyStarts): refused, retried, then fine.

def puma_pod(canary):
    out = ["=> Booting Puma", "=> Rails 7.2.1 application starting in production"]
    if canary:
        for i in range(3):
            out.append(f"W, [{at(1 + i).strftime('%Y-%m-%dT%H:%M:%S.%f')} #1]  WARN -- : flags: fetch failed, retrying: Failed to open TCP connection to flags.platform.svc.cluster.local:80 (Connection refused - connect(2) for \"flags.platform.svc.cluster.local\" port 80)")
    out += ["Puma starting in single mode...", "* Puma version: 6.4.3 (\"The Eagle of Durango\")", "* Min threads: 3", "* Max threads: 3",
            "* Environment: production", "* PID: 1", "* Listening on http://0.0.0.0:3000", "Use Ctrl-C to stop"]
    s = 5.0
    while s < WINDOW:
        rid = f"{r.randint(10**7, 10**8 - 1):x}-{r.randint(1000, 9999)}"
        out.append(f"I, [{at(s).strftime('%Y-%m-%dT%H:%M:%S.%f')} #1]  INFO -- : [{rid}] Completed 200 OK in {r.randint(5, 80)}ms (Views: {r.randint(1, 20)}.0ms | ActiveRecord: {r.randint(1, 30)}.1ms | Allocations: {r.randint(1000, 9000)})")
        s += r.uniform(0.6, 2.4)
    return out


def probe_events(cp, n, status=503):
    return [{"object": f"Pod/{p}", "type": "Warning", "reason": "Unhealthy",
             "message": f"Readiness probe failed: HTTP probe failed with statuscode: {status}", "count": n} for p in cp]


cases = []
cp, sp = ["fx-quotes-6d7c8b9a5-q1w2e", "fx-quotes-6d7c8b9a5-r3t4y"], ["fx-quotes-5c6b7a8d4-u5i6o", "fx-quotes-5c6b7a8d4-p7a8s"]
cases.append(bundle("l01-fx-quotes-fastapi-pgbouncer-late-untimed",
                    "FastAPI under uvicorn (no timestamps in its default format) with asyncpg through a pgbouncer sidecar that starts late: four refused connects with tracebacks while waiting for application startup, then startup completes and the pods are ready and healthy.",
                    "markets", "fx-quotes", std_metrics(), cp, sp, lambda: uvicorn_pod(True), lambda: uvicorn_pod(False),
                    {"verdict": "promote", "category": "benign"}, traffic=(3000, 12000)))
cases.append(bundle("l02-fx-quotes-fastapi-pgbouncer-lost-after-start",
                    "Counter-case: the same late start, but after startup the pool keeps losing its pgbouncer connection (refused) throughout the window.",
                    "markets", "fx-quotes", std_metrics(0.012), cp, sp, lambda: uvicorn_pod(True, True), lambda: uvicorn_pod(False),
                    {"verdict": "abort", "category": "dependency", "rootCause": ["6432", "refused", "database"]}, traffic=(3000, 12000)))
cp, sp = ["ledger-api-7c8d9e6f5-a1b2c", "ledger-api-7c8d9e6f5-d3e4f"], ["ledger-api-6b7c8d5e4-g5h6j", "ledger-api-6b7c8d5e4-k7l8z"]
cases.append(bundle("l03-ledger-go-stdlog-cloudsql-proxy-late",
                    "Go service with the standard logger (2026/12/03 10:00:01) and pgx behind cloud-sql-proxy, which starts late: 16 s of refused connects, then connected and listening; healthy.",
                    "finance", "ledger-api", std_metrics(), cp, sp, lambda: go_pod(True), lambda: go_pod(False),
                    {"verdict": "promote", "category": "benign"}, traffic=(2800, 11200)))
cases.append(bundle("l04-ledger-go-stdlog-cloudsql-refused-throughout",
                    "Counter-case: after the late start, queries keep failing with refused connections to the proxy through the window, and the error rate is up.",
                    "finance", "ledger-api", std_metrics(0.03), cp, sp, lambda: go_pod(True, True), lambda: go_pod(False),
                    {"verdict": "abort", "category": "dependency", "rootCause": ["5432", "refused", "connect"]}, traffic=(2800, 11200)))
cp, sp = ["sessions-rs-5f6e7d8c9-m1n2b", "sessions-rs-5f6e7d8c9-v3c4x"], ["sessions-rs-4e5d6c7b8-z5a6s", "sessions-rs-4e5d6c7b8-d7f8g"]
cases.append(bundle("l05-sessions-actix-redis-sidecar-readiness-503-v2",
                    "actix-web (env_logger) with a Redis sidecar that starts late; the app listens at once and answers its readiness probe 503 until Redis connects 27 s later (three probe failures per pod), then serves healthily. Version 2 bundle: readyAt is 30 s after startedAt.",
                    "identity", "sessions-rs", std_metrics(), cp, sp, lambda: actix_pod(True), lambda: actix_pod(False),
                    {"verdict": "promote", "category": "benign"}, events=probe_events(cp, 3), traffic=(3100, 12400), v2=True, ready_after=30))
cp, sp = ["claims-api-8d9e7f6c5-h1j2k"], ["claims-api-7c8d6e5b4-l3z4x", "claims-api-7c8d6e5b4-c5v6b"]
cases.append(bundle("l06-claims-nest-vault-agent-render-late",
                    "NestJS app whose database credentials a Vault agent sidecar renders into /vault/secrets/db.json; the agent renders it 10 s after the app starts, so five ENOENT warnings, then Nest starts and the pod is ready and healthy.",
                    "insurance", "claims-api", std_metrics(), cp, sp, lambda: nest_pod(True), lambda: nest_pod(False),
                    {"verdict": "promote", "category": "benign"}, traffic=(1900, 7600), weight=20))
cp, sp = ["storefront-6c7d8e9f5-w1e2r", "storefront-6c7d8e9f5-t3y4u"], ["storefront-5b6c7d8e4-i5o6p", "storefront-5b6c7d8e4-a7s8d"]
cases.append(bundle("l07-storefront-rails-mesh-proxy-not-up-at-boot",
                    "Rails/Puma storefront whose initializer fetches feature flags before the mesh proxy is up: three refused fetches at boot, retried, then Puma listens and serves healthily.",
                    "shop", "storefront", std_metrics(), cp, sp, lambda: puma_pod(True), lambda: puma_pod(False),
                    {"verdict": "promote", "category": "benign"}, traffic=(3300, 13200)))

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tune", "latestart")
os.makedirs(out, exist_ok=True)
for b in cases:
    with open(os.path.join(out, b["name"] + ".json"), "w") as f:
        json.dump(b, f, indent=1)
        f.write("\n")
print(f"wrote {len(cases)} scenarios to {os.path.normpath(out)}")
