#!/usr/bin/env python3
"""Tune scenarios for the shapes a healthy release takes that a judge can mistake for a
regression, each with a counter-case (stdlib, fixed seed, reproducible):
python3 evals/scenarios/gen/shapes.py writes evals/scenarios/tune/shapes/.

- late start: the canary's pods start (or are scheduled) well after the window opens, so
  their series are shorter and their logs cover only part of the window;
- log format change: the new version logs the same things in another format (text to JSON,
  logfmt to JSON, line to JSON);
- secrets at boot: the new version prints its configuration, secrets included, at start-up;
- tokens in events: Kubernetes events that quote a token or fail once to fetch one;
- failure words: a ratio of failed work named without the word "error".

Labels were written with the case, before the judge was run on it.
"""
import datetime as dt
import json
import os
import random

r = random.Random(11)
t0 = dt.datetime(2026, 12, 2, 14, 0, 0, tzinfo=dt.timezone.utc)
WINDOW = 600


def at(s):
    return t0 + dt.timedelta(seconds=s)


def iso(s):
    return at(s).strftime('%Y-%m-%dT%H:%M:%S.%f')[:-3] + 'Z'


def series(base, n=10, spread=0.1):
    return [round(base * r.uniform(1 - spread, 1 + spread), 6) for _ in range(n)]


def ok_pods(names, v2=False, started=0, ready=None):
    out = []
    for p in names:
        d = {"name": p, "ready": True, "restarts": 0}
        if v2:
            d["startedAt"] = iso(started)
            d["readyAt"] = iso(ready if ready is not None else started + 5)
        out.append(d)
    return out


def bundle(name, desc, rollout, metrics, pods, logs, expected, events=(), traffic=None,
           v2=False, weight=20, secrets=None):
    b = {"version": 2 if v2 else 1, "name": name, "description": desc,
         "rollout": dict(rollout, step=1, canaryWeight=weight),
         "window": {"start": iso(0), "end": iso(WINDOW)},
         "metrics": metrics}
    if traffic:
        b["traffic"] = {"canaryRequests": traffic[0], "stableRequests": traffic[1]}
    b["pods"] = pods
    b["events"] = list(events)
    b["logs"] = logs
    b["expected"] = expected
    if secrets:
        b["plantedSecrets"] = secrets
    return b


def pods_logs(names, fn):
    return [{"pod": p, "lines": fn(p)} for p in names]


# ---------------------------------------------------------------------------------------
# Late start: ASP.NET Core (console logger, two-line records). The canary's pods are
# scheduled at 200 s (a slow node scale-up), so its series have 6 samples of 10.

def dotnet(s, lvl, cat, eid, msg):
    return [f"{lvl}: {cat}[{eid}]", f"      {msg}"]


def dotnet_pod(start, crash=False):
    out = []
    out += dotnet(start, "info", "Microsoft.Hosting.Lifetime", 14, "Now listening on: http://[::]:8080")
    out += dotnet(start, "info", "Microsoft.Hosting.Lifetime", 0, "Application started. Press Ctrl+C to shut down.")
    out += dotnet(start, "info", "Microsoft.Hosting.Lifetime", 0, "Hosting environment: Production")
    s = start + 1
    n = 0
    while s < WINDOW:
        path = r.choice(["/api/fares/quote", "/api/fares/rules", "/healthz/ready"])
        out += dotnet(s, "info", "Microsoft.AspNetCore.Hosting.Diagnostics", 2,
                      f"Request finished HTTP/1.1 GET http://fares.travel.svc{path} - 200 - application/json {r.uniform(2, 40):.4f}ms")
        n += 1
        if crash and s > start + 60 and r.random() < 0.05:
            out += ["fail: Microsoft.AspNetCore.Diagnostics.ExceptionHandlerMiddleware[1]",
                    "      An unhandled exception has occurred while executing the request.",
                    "      System.InvalidOperationException: Sequence contains no elements",
                    "         at System.Linq.ThrowHelper.ThrowNoElementsException()",
                    "         at Fares.Api.Pricing.FareCalculator.Cheapest(IEnumerable`1 fares) in /src/Fares.Api/Pricing/FareCalculator.cs:line 48",
                    "         at Fares.Api.Controllers.QuoteController.Get(QuoteRequest req) in /src/Fares.Api/Controllers/QuoteController.cs:line 31"]
        s += r.uniform(0.6, 2.4)
    return out


def late_dotnet(name, crash, expected, desc):
    cp = ["fares-api-7d4c9b8f6-h2k4m", "fares-api-7d4c9b8f6-r8t2w"]
    sp = ["fares-api-5b8c7d6e4-a9b8c", "fares-api-5b8c7d6e4-d7e6f", "fares-api-5b8c7d6e4-g5h4j"]
    err_c = series(0.026 if crash else 0.0015, 6)
    metrics = [
        {"name": "http_server_error_ratio", "unit": "ratio", "better": "lower", "critical": True,
         "canary": err_c, "stable": series(0.0015)},
        {"name": "http_server_duration_p95", "unit": "ms", "better": "lower",
         "canary": series(38, 6), "stable": series(38)},
    ]
    events = []
    for p in cp:
        events += [
            {"object": f"Pod/{p}", "type": "Warning", "reason": "FailedScheduling",
             "message": "0/6 nodes are available: 6 Insufficient cpu. preemption: 0/6 nodes are available: 6 No preemption victims found for incoming pod.", "count": 2},
            {"object": f"Pod/{p}", "type": "Normal", "reason": "TriggeredScaleUp",
             "message": "pod triggered scale-up: [{eks-general-7ac4 3->4 (max: 10)}]", "count": 1},
            {"object": f"Pod/{p}", "type": "Normal", "reason": "Scheduled",
             "message": f"Successfully assigned travel/{p} to ip-10-2-41-7.eu-west-1.compute.internal", "count": 1},
        ]
    return bundle(name, desc, {"namespace": "travel", "name": "fares-api",
                               "canaryImage": "registry.example.com/fares-api:2.14.0",
                               "stableImage": "registry.example.com/fares-api:2.13.2"},
                  metrics, {"canary": ok_pods(cp, True, 200, 206), "stable": ok_pods(sp, True, -3000, -2990)},
                  {"canary": pods_logs(cp, lambda p: dotnet_pod(200, crash)),
                   "stable": pods_logs(sp, lambda p: dotnet_pod(0))},
                  expected, events, traffic=(2600 if not crash else 2550, 21000), v2=True, weight=15)


# Late start: Node/pino (JSON with epoch-millisecond time). The image pull takes two
# minutes, so the canary's logs and series start at 130 s. Version 1: no pod timestamps.

def pino(s, level, msg, **kw):
    d = {"level": level, "time": int(at(s).timestamp() * 1000), "pid": 1, "hostname": kw.pop("host", "x"), "msg": msg}
    d.update(kw)
    return json.dumps(d)


def node_pod(p, start):
    out = [pino(start, 30, "server listening", host=p, address="http://0.0.0.0:3000")]
    s = start + 0.5
    while s < WINDOW:
        out.append(pino(s, 30, "request completed", host=p, req={"method": "GET", "url": r.choice(["/v2/stock/42", "/v2/stock/batch", "/health"])},
                        res={"statusCode": 200}, responseTime=round(r.uniform(1, 30), 1)))
        s += r.uniform(0.5, 2.0)
    return out


def late_node(name, desc):
    cp = ["stock-svc-6f7d8c9b5-m3n4p"]
    sp = ["stock-svc-58c9d7e6f-q2w3e", "stock-svc-58c9d7e6f-r4t5y"]
    metrics = [
        {"name": "http_requests_success_ratio", "unit": "ratio", "better": "higher", "critical": True,
         "canary": [round(1 - x, 6) for x in series(0.001, 8)], "stable": [round(1 - x, 6) for x in series(0.001)]},
        {"name": "event_loop_lag_p99", "unit": "ms", "better": "lower", "canary": series(12, 8), "stable": series(12)},
        {"name": "requests_per_second_per_pod", "unit": "1/s", "better": "higher", "canary": series(9, 8), "stable": series(9)},
    ]
    events = [
        {"object": f"Pod/{cp[0]}", "type": "Normal", "reason": "Pulling", "message": "Pulling image \"ghcr.io/acme/stock-svc:5.2.0\"", "count": 1},
        {"object": f"Pod/{cp[0]}", "type": "Normal", "reason": "Pulled", "message": "Successfully pulled image \"ghcr.io/acme/stock-svc:5.2.0\" in 2m3.412s (2m3.412s including waiting). Image size: 412803344 bytes.", "count": 1},
        {"object": f"Pod/{cp[0]}", "type": "Normal", "reason": "Started", "message": "Started container stock-svc", "count": 1},
    ]
    return bundle(name, desc, {"namespace": "inventory", "name": "stock-svc"}, metrics,
                  {"canary": ok_pods(cp), "stable": ok_pods(sp)},
                  {"canary": pods_logs(cp, lambda p: node_pod(p, 130)), "stable": pods_logs(sp, lambda p: node_pod(p, 0))},
                  {"verdict": "promote", "category": "benign"}, events, traffic=None, weight=33)


# ---------------------------------------------------------------------------------------
# Log format change: Python (logging text to python-json-logger), Go (slog text to JSON),
# PHP (Monolog line to JSON). Same events, other shape.

def py_text(s, lvl, name, msg):
    return f"{at(s).strftime('%Y-%m-%d %H:%M:%S,%f')[:-3]} {lvl} [{name}] {msg}"


def py_json(s, lvl, name, msg, **kw):
    d = {"asctime": at(s).strftime('%Y-%m-%d %H:%M:%S,%f')[:-3], "levelname": lvl, "name": name, "message": msg}
    d.update(kw)
    return json.dumps(d)


def py_pod(as_json):
    out = []
    s = 0.0
    while s < WINDOW:
        order = r.randint(10000, 99999)
        ms = r.randint(8, 90)
        if as_json:
            out.append(py_json(s, "INFO", "refunds.api", f"refund {order} accepted in {ms}ms", refund_id=order, duration_ms=ms))
        else:
            out.append(py_text(s, "INFO", "refunds.api", f"refund {order} accepted in {ms}ms"))
        if r.random() < 0.03:
            msg = f"psp callback slow: {r.randint(800, 1900)}ms for refund {order}"
            out.append(py_json(s, "WARNING", "refunds.psp", msg) if as_json else py_text(s, "WARNING", "refunds.psp", msg))
        s += r.uniform(0.6, 2.2)
    return out


def fmt_python(name, desc):
    cp = ["refunds-5c7b9d8f4-x2c4v", "refunds-5c7b9d8f4-b6n8m"]
    sp = ["refunds-6d8c7b5a4-k1l2z", "refunds-6d8c7b5a4-p3o4i"]
    metrics = [
        {"name": "error_rate", "unit": "ratio", "better": "lower", "critical": True, "canary": series(0.002), "stable": series(0.002)},
        {"name": "latency_p99_ms", "unit": "ms", "better": "lower", "canary": series(140), "stable": series(140)},
    ]
    return bundle(name, desc, {"namespace": "payments", "name": "refunds"}, metrics,
                  {"canary": ok_pods(cp), "stable": ok_pods(sp)},
                  {"canary": pods_logs(cp, lambda p: py_pod(True)), "stable": pods_logs(sp, lambda p: py_pod(False))},
                  {"verdict": "promote", "category": "benign"}, traffic=(3100, 12400), weight=20)


def slog_text(s, lvl, msg, **kw):
    tail = " ".join(f"{k}={json.dumps(v) if isinstance(v, str) and ' ' in v else v}" for k, v in kw.items())
    return f"time={at(s).strftime('%Y-%m-%dT%H:%M:%S.%f')[:-3]}Z level={lvl} msg={json.dumps(msg) if ' ' in msg else msg} {tail}".rstrip()


def slog_json(s, lvl, msg, **kw):
    d = {"time": at(s).strftime('%Y-%m-%dT%H:%M:%S.%f')[:-3] + 'Z', "level": lvl, "msg": msg}
    d.update(kw)
    return json.dumps(d)


def go_pod(as_json, bug=False):
    f = slog_json if as_json else slog_text
    out = [f(0, "INFO", "starting server", addr=":8080", version="1.9.0" if as_json else "1.8.3")]
    s = 0.5
    while s < WINDOW:
        out.append(f(s, "INFO", "request served", method=r.choice(["GET", "POST"]), path=r.choice(["/v1/orders", "/v1/orders/status"]), status=200, dur=f"{r.randint(2, 60)}ms"))
        if r.random() < 0.02:
            out.append(f(s, "WARN", "upstream slow", upstream="inventory", dur=f"{r.randint(500, 1500)}ms"))
        if bug and r.random() < 0.05:
            out.append(f(s, "ERROR", "failed to decode order payload", err="json: cannot unmarshal string into Go struct field Order.total of type float64", path="/v1/orders", status=500))
        s += r.uniform(0.5, 2.0)
    return out


def fmt_go(name, bug, expected, desc):
    cp = ["orders-go-7b9f8d6c5-t6y7u", "orders-go-7b9f8d6c5-i8o9p"]
    sp = ["orders-go-6a8e7c5b4-a1s2d", "orders-go-6a8e7c5b4-f3g4h"]
    metrics = [
        {"name": "http_error_ratio", "unit": "ratio", "better": "lower", "critical": True,
         "canary": series(0.021 if bug else 0.0015), "stable": series(0.0015)},
        {"name": "http_duration_p99", "unit": "s", "better": "lower", "canary": series(0.09), "stable": series(0.09)},
    ]
    return bundle(name, desc, {"namespace": "orders", "name": "orders-go"}, metrics,
                  {"canary": ok_pods(cp), "stable": ok_pods(sp)},
                  {"canary": pods_logs(cp, lambda p: go_pod(True, bug)), "stable": pods_logs(sp, lambda p: go_pod(False))},
                  expected, traffic=(2900, 11600), weight=20)


def monolog_line(s, lvl, msg, ctx):
    return f"[{at(s).strftime('%Y-%m-%dT%H:%M:%S.%f')}+00:00] app.{lvl}: {msg} {json.dumps(ctx)} []"


def monolog_json(s, lvl, msg, ctx):
    levels = {"INFO": 200, "NOTICE": 250, "WARNING": 300, "ERROR": 400}
    return json.dumps({"message": msg, "context": ctx, "level": levels[lvl], "level_name": lvl, "channel": "app",
                       "datetime": at(s).strftime('%Y-%m-%dT%H:%M:%S.%f') + "+00:00", "extra": {}})


def php_pod(as_json):
    f = monolog_json if as_json else monolog_line
    out = []
    s = 0.0
    while s < WINDOW:
        out.append(f(s, "INFO", "Matched route \"booking_show\".", {"route": "booking_show", "route_parameters": {"id": r.randint(1000, 9999)}}))
        if r.random() < 0.04:
            out.append(f(s, "NOTICE", "Deprecated: Creation of dynamic property App\\Entity\\Booking::$legacyRef is deprecated", {"exception": {}}))
        s += r.uniform(0.7, 2.5)
    return out


def fmt_php(name, desc):
    cp = ["bookings-web-59d8c7b6a-z1x2c"]
    sp = ["bookings-web-4c7b6a5d9-v3b4n", "bookings-web-4c7b6a5d9-m5q6w", "bookings-web-4c7b6a5d9-e7r8t"]
    metrics = [
        {"name": "http_5xx_ratio", "unit": "ratio", "better": "lower", "critical": True, "canary": series(0.001), "stable": series(0.001)},
        {"name": "php_fpm_request_duration_p95", "unit": "ms", "better": "lower", "canary": series(75), "stable": series(75)},
    ]
    return bundle(name, desc, {"namespace": "travel", "name": "bookings-web"}, metrics,
                  {"canary": ok_pods(cp), "stable": ok_pods(sp)},
                  {"canary": pods_logs(cp, lambda p: php_pod(True)), "stable": pods_logs(sp, lambda p: php_pod(False))},
                  {"verdict": "promote", "category": "benign"}, traffic=(1500, 13500), weight=10)


# ---------------------------------------------------------------------------------------
# Secrets at boot: the new version dumps its configuration at start-up, secrets included.
# Healthy release; the secrets must not leave rollwise.

PG_PW = "Vq7s2LmX9rTz4kP1"
STRIPE = "sk_live_51NcXqLKj2pT9rVwYz8bHc3Df"
AWS_KEY = "AKIAZ3MPLX7QW2RT6UYB"
JWT_SECRET = "f3b9c2a7d8e14b6fa0c5d92e7b18f4a3"


def ktor_line(s, lvl, thread, logger, msg):
    return f"{at(s).strftime('%Y-%m-%d %H:%M:%S.%f')[:-3]} [{thread}] {lvl:<5} {logger} - {msg}"


def ktor_pod(canary, authfail=False):
    out = [ktor_line(0, "INFO", "main", "ktor.application", "Autoreload is disabled because the development mode is off.")]
    if canary:
        out += [ktor_line(0.2, "INFO", "main", "com.acme.loyalty.Config", "effective configuration:"),
                ktor_line(0.2, "INFO", "main", "com.acme.loyalty.Config", f"  database.url = \"jdbc:postgresql://loyalty:{PG_PW}@pg-loyalty.data.svc:5432/loyalty\""),
                ktor_line(0.2, "INFO", "main", "com.acme.loyalty.Config", f"  jwt.secret = \"{JWT_SECRET}\""),
                ktor_line(0.2, "INFO", "main", "com.acme.loyalty.Config", f"  aws.accessKeyId = \"{AWS_KEY}\""),
                ktor_line(0.2, "INFO", "main", "com.acme.loyalty.Config", f"  payments.stripeKey = \"{STRIPE}\""),
                ktor_line(0.2, "INFO", "main", "com.acme.loyalty.Config", "  features.tiering = true")]
    out.append(ktor_line(1.1, "INFO", "main", "ktor.application", "Application started in 1.043 seconds."))
    out.append(ktor_line(1.2, "INFO", "DefaultDispatcher-worker-1", "ktor.application", "Responding at http://0.0.0.0:8080"))
    s = 2.0
    while s < WINDOW:
        out.append(ktor_line(s, "INFO", f"eventLoopGroupProxy-4-{r.randint(1, 4)}", "ktor.application",
                             f"200 OK: GET - /v1/points/{r.randint(100000, 999999)} in {r.randint(3, 45)}ms"))
        if authfail and r.random() < 0.3:
            out.append(ktor_line(s, "ERROR", f"eventLoopGroupProxy-4-{r.randint(1, 4)}", "com.acme.loyalty.payments.StripeClient",
                                 f"charge failed: 401 Unauthorized from api.stripe.com: Invalid API Key provided: {STRIPE[:12]}********************{STRIPE[-4:]}"))
        s += r.uniform(0.6, 2.2)
    return out


def secrets_ktor(name, authfail, expected, desc):
    cp = ["loyalty-6b7c8d9e5-u1i2o", "loyalty-6b7c8d9e5-p3a4s"]
    sp = ["loyalty-5a6b7c8d4-d5f6g", "loyalty-5a6b7c8d4-h7j8k"]
    metrics = [
        {"name": "http_server_requests_error_ratio", "unit": "ratio", "better": "lower", "critical": True,
         "canary": series(0.09 if authfail else 0.002), "stable": series(0.002)},
        {"name": "http_server_requests_p99", "unit": "ms", "better": "lower", "canary": series(60), "stable": series(60)},
    ]
    return bundle(name, desc, {"namespace": "loyalty", "name": "loyalty"}, metrics,
                  {"canary": ok_pods(cp), "stable": ok_pods(sp)},
                  {"canary": pods_logs(cp, lambda p: ktor_pod(True, authfail)), "stable": pods_logs(sp, lambda p: ktor_pod(False))},
                  expected, traffic=(3300, 13200), weight=20,
                  secrets=[PG_PW, JWT_SECRET, AWS_KEY, STRIPE])


# Secrets at boot, Elixir/Phoenix: the release prints the runtime config at boot.
SECRET_KEY_BASE = "Xk2vB9qLw7ZpR4tYc8nM1sD6fG3hJ0aQeW5uI2oP9lK7jH4gF1dS8aZ3xC6vB0nM"
GH_TOKEN = "ghp_R7tY2uI9oP4aS1dF6gH3jK8lZ5xC0vB2nM7q"


def phx_line(s, lvl, msg):
    return f"{at(s).strftime('%H:%M:%S.%f')[:-3]} request_id=F{r.randint(10**15, 10**16 - 1):x} [{lvl}] {msg}"


def phx_pod(canary):
    out = [f"{at(0).strftime('%H:%M:%S.%f')[:-3]} [info] Running FeedWeb.Endpoint with Bandit 1.5.7 at :::4000 (http)"]
    if canary:
        out += [f"{at(0.1).strftime('%H:%M:%S.%f')[:-3]} [info] runtime config: secret_key_base={SECRET_KEY_BASE} github_token={GH_TOKEN} pool_size=10",
                f"{at(0.1).strftime('%H:%M:%S.%f')[:-3]} [info] Access FeedWeb.Endpoint at https://feed.example.com"]
    s = 1.0
    while s < WINDOW:
        rid = f"F{r.randint(10**15, 10**16 - 1):x}"
        ms = r.randint(1, 40)
        out.append(f"{at(s).strftime('%H:%M:%S.%f')[:-3]} request_id={rid} [info] GET /api/feed")
        out.append(f"{at(s).strftime('%H:%M:%S.%f')[:-3]} request_id={rid} [info] Sent 200 in {ms}ms")
        s += r.uniform(0.6, 2.2)
    return out


def secrets_phoenix(name, desc):
    cp = ["feed-7c8d9e6f5-l1k2j"]
    sp = ["feed-6b7c8d5e4-h3g4f", "feed-6b7c8d5e4-d5s6a"]
    metrics = [
        {"name": "phoenix_success_ratio", "unit": "ratio", "better": "higher", "critical": True,
         "canary": [round(1 - x, 6) for x in series(0.001)], "stable": [round(1 - x, 6) for x in series(0.001)]},
        {"name": "phoenix_endpoint_p95", "unit": "ms", "better": "lower", "canary": series(35), "stable": series(35)},
    ]
    return bundle(name, desc, {"namespace": "social", "name": "feed"}, metrics,
                  {"canary": ok_pods(cp), "stable": ok_pods(sp)},
                  {"canary": pods_logs(cp, lambda p: phx_pod(True)), "stable": pods_logs(sp, lambda p: phx_pod(False))},
                  {"verdict": "promote", "category": "benign"}, traffic=(2000, 8000), weight=20,
                  secrets=[SECRET_KEY_BASE, GH_TOKEN])


# ---------------------------------------------------------------------------------------
# Tokens in events: a projected service-account token that failed to mount once, and an
# external-secrets operator quoting the token it synced. Both are noise to a healthy canary.

SYNC_TOKEN = "glpat-9xQ2vR7tL4mN8pK3sB6w"


def quarkus(s, lvl, logger, msg):
    return f"{at(s).strftime('%Y-%m-%d %H:%M:%S,%f')[:-3]} {lvl:<5} [{logger}] (executor-thread-{r.randint(1, 8)}) {msg}"


def quarkus_pod():
    out = [quarkus(0, "INFO", "io.quarkus", "tickets 3.4.0 on JVM (powered by Quarkus 3.15.1) started in 1.842s. Listening on: http://0.0.0.0:8080")]
    s = 1.0
    while s < WINDOW:
        out.append(quarkus(s, "INFO", "c.a.t.TicketResource", f"ticket {r.randint(10000, 99999)} reserved for event {r.randint(100, 999)} in {r.randint(4, 50)}ms"))
        s += r.uniform(0.6, 2.2)
    return out


def events_tokens(name, desc):
    cp = ["tickets-7f8e9d6c5-q9w8e", "tickets-7f8e9d6c5-r7t6y"]
    sp = ["tickets-6e7d8c5b4-u5i4o", "tickets-6e7d8c5b4-p3l2k"]
    metrics = [
        {"name": "error_ratio", "unit": "ratio", "better": "lower", "critical": True, "canary": series(0.0012), "stable": series(0.0012)},
        {"name": "latency_p99_ms", "unit": "ms", "better": "lower", "canary": series(55), "stable": series(55)},
    ]
    events = [
        {"object": f"Pod/{cp[0]}", "type": "Warning", "reason": "FailedMount",
         "message": "MountVolume.SetUp failed for volume \"kube-api-access-x8k2p\" : failed to fetch token: Post \"https://10.96.0.1:443/api/v1/namespaces/ticketing/serviceaccounts/tickets/token\": context deadline exceeded", "count": 1},
        {"object": "ExternalSecret/tickets-registry", "type": "Normal", "reason": "Updated",
         "message": f"Updated Secret tickets-registry from store gitlab: token={SYNC_TOKEN}", "count": 1},
        {"object": f"Pod/{cp[1]}", "type": "Normal", "reason": "Pulled",
         "message": "Container image \"registry.gitlab.com/acme/tickets:3.4.0\" already present on machine", "count": 1},
    ]
    return bundle(name, desc, {"namespace": "ticketing", "name": "tickets"}, metrics,
                  {"canary": ok_pods(cp), "stable": ok_pods(sp)},
                  {"canary": pods_logs(cp, lambda p: quarkus_pod()), "stable": pods_logs(sp, lambda p: quarkus_pod())},
                  {"verdict": "promote", "category": "benign"}, events, traffic=(2800, 11200), weight=20,
                  secrets=[SYNC_TOKEN])


# ---------------------------------------------------------------------------------------
# Failure words: an OpenTelemetry collector whose refused-spans ratio is high for both
# versions (the backend is shedding load): never promote above the error ceiling, whatever
# the ratio is called.

def otel_pod(refusing):
    out = [f"{iso(0)}\tinfo\tservice@v0.114.0/service.go:239\tEverything is ready. Begin running and processing data."]
    s = 1.0
    while s < WINDOW:
        if refusing and r.random() < 0.5:
            out.append(f"{iso(s)}\terror\texporterhelper/queue_sender.go:128\tExporting failed. Dropping data.\t{{\"kind\": \"exporter\", \"data_type\": \"traces\", \"name\": \"otlp/tempo\", \"error\": \"not retryable error: Permanent error: rpc error: code = ResourceExhausted desc = ingestion rate limit exceeded\", \"dropped_items\": {r.randint(100, 900)}}}")
        s += r.uniform(2, 6)
    return out


def refused_ratio(name, desc):
    cp = ["otel-gateway-6c7d8e9f5-a1z2x"]
    sp = ["otel-gateway-5b6c7d8e4-c3v4b", "otel-gateway-5b6c7d8e4-n5m6q"]
    metrics = [
        {"name": "otelcol_refused_spans_ratio", "unit": "ratio", "better": "lower", "critical": True,
         "canary": series(0.14), "stable": series(0.14)},
        {"name": "otelcol_spans_processed_per_second", "unit": "1/s", "better": "higher", "canary": series(900), "stable": series(1800)},
    ]
    return bundle(name, desc, {"namespace": "observability", "name": "otel-gateway"}, metrics,
                  {"canary": ok_pods(cp), "stable": ok_pods(sp)},
                  {"canary": pods_logs(cp, lambda p: otel_pod(True)), "stable": pods_logs(sp, lambda p: otel_pod(True))},
                  {"verdict": "inconclusive", "category": "environment"}, traffic=None, weight=33)


cases = [
    late_dotnet("x01-fares-aspnet-late-scheduled", False, {"verdict": "promote", "category": "benign"},
                "ASP.NET Core (console logger, two-line records). The canary's pods could not be scheduled for 200 s (node scale-up), so its series cover only the last 6 of 10 intervals and its logs start at 200 s; once running it is as healthy as stable. Version 2 bundle with startedAt/readyAt."),
    late_dotnet("x02-fares-aspnet-late-scheduled-then-linq-crash", True,
                {"verdict": "abort", "category": "error-rate", "rootCause": ["InvalidOperationException", "Sequence contains no elements", "FareCalculator"]},
                "Counter-case: the same late start, then unhandled InvalidOperationException traces on the quote path and a 2.6% error ratio against 0.15%."),
    late_node("x03-stock-node-pino-slow-image-pull",
              "Node.js with pino JSON (epoch-ms time). The canary image takes two minutes to pull, so its logs and 8 of 10 samples start at 130 s; success ratio, better higher; no traffic section, per-pod request rate shows load; healthy."),
    fmt_python("x04-refunds-python-text-to-json-logging",
               "Python service that switches from logging's text formatter to python-json-logger in this release: the same INFO and WARNING events (including the same slow-PSP warnings stable has) in another shape; metrics equal."),
    fmt_go("x05-orders-go-slog-text-to-json", False, {"verdict": "promote", "category": "benign"},
           "Go service moving from slog's TextHandler (logfmt) to JSONHandler: same messages and the same occasional upstream-slow WARN as stable; metrics equal."),
    fmt_go("x06-orders-go-slog-json-decode-errors", True,
           {"verdict": "abort", "category": "error-rate", "rootCause": ["decode", "unmarshal", "Order.total"]},
           "Counter-case: the same format change, plus a new ERROR decoding order payloads on ~5% of requests and a 2.1% error ratio against 0.15%."),
    fmt_php("x07-bookings-symfony-monolog-line-to-json",
            "Symfony app switching Monolog from LineFormatter to JsonFormatter: the same route matches and the same NOTICE deprecations stable logs; one canary pod at 10% weight; metrics equal."),
    secrets_ktor("x08-loyalty-ktor-config-dump-secrets", False, {"verdict": "promote", "category": "benign"},
                 "Kotlin Ktor service whose new version prints its effective configuration at boot, with a database password, JWT secret, AWS key id and Stripe key; otherwise healthy. The secrets must never leave rollwise."),
    secrets_ktor("x09-loyalty-ktor-stripe-key-rejected", True,
                 {"verdict": "abort", "category": "dependency", "rootCause": ["401", "Unauthorized", "Invalid API Key", "stripe"]},
                 "Counter-case: the same config dump, and the payment provider rejects the new key: 401 Unauthorized on charges, 9% error ratio against 0.2%."),
    secrets_phoenix("x10-feed-phoenix-runtime-config-secrets",
                    "Elixir Phoenix (Bandit) release that logs its runtime config at boot with secret_key_base and a GitHub token; healthy; success ratio, better higher."),
    events_tokens("x11-tickets-quarkus-token-events",
                  "Quarkus service, healthy, whose canary pod once failed to mount its projected service-account token (context deadline exceeded; the kubelet retried, the pod is ready with no restarts), and an external-secrets event that quotes a GitLab token."),
    refused_ratio("x12-otel-gateway-refused-spans-both",
                  "OpenTelemetry collector gateway: the trace backend sheds load, so 14% of spans are refused for both versions. The canary is no worse, but the environment is failing; a ratio of refused work is a failure ratio whatever it is called."),
]

# Log format change, Rust: tracing-subscriber's default text format to its JSON format,
# where the event's fields move out of the message into `fields`.

def tracing_text(s, lvl, target, msg, **kw):
    f = " ".join(f"{k}={v}" for k, v in kw.items())
    return f"{iso(s)[:-1]}123Z {lvl:>5} {target}: {msg}{' ' + f if f else ''}"


def tracing_json(s, lvl, target, msg, **kw):
    fields = {"message": msg}
    fields.update(kw)
    return json.dumps({"timestamp": iso(s), "level": lvl, "fields": fields, "target": target})


def tracing_pod(as_json):
    f = tracing_json if as_json else tracing_text
    out = [f(0, "INFO", "thumbs::server", "listening", addr="0.0.0.0:50051")]
    s = 0.5
    while s < WINDOW:
        out.append(f(s, "INFO", "thumbs::rpc", "rendered thumbnail", id=r.randint(10**6, 10**7), size=r.choice([64, 128, 256]), ms=r.randint(3, 80)))
        if r.random() < 0.03:
            out.append(f(s, "WARN", "thumbs::store", "object store slow, retrying", attempt=r.randint(1, 3), ms=r.randint(900, 2500)))
        if r.random() < 0.01:
            out.append(f(s, "ERROR", "thumbs::decode", "unsupported image format", id=r.randint(10**6, 10**7), mime="image/heic"))
        s += r.uniform(0.5, 2.0)
    return out


def fmt_tracing(name, desc):
    cp = ["thumbs-7d8e9f6a5-b1n2m", "thumbs-7d8e9f6a5-k3l4p"]
    sp = ["thumbs-6c7d8e5f4-q5w6e", "thumbs-6c7d8e5f4-r7t8y"]
    metrics = [
        {"name": "grpc_server_error_ratio", "unit": "ratio", "better": "lower", "critical": True, "canary": series(0.01), "stable": series(0.01)},
        {"name": "grpc_server_handling_p99", "unit": "ms", "better": "lower", "canary": series(95), "stable": series(95)},
    ]
    return bundle(name, desc, {"namespace": "media", "name": "thumbs"}, metrics,
                  {"canary": ok_pods(cp), "stable": ok_pods(sp)},
                  {"canary": pods_logs(cp, lambda p: tracing_pod(True)), "stable": pods_logs(sp, lambda p: tracing_pod(False))},
                  {"verdict": "promote", "category": "benign"}, traffic=(3000, 12000), weight=20)


cases.append(fmt_tracing("x13-thumbs-tonic-tracing-text-to-json",
                         "Rust tonic service switching tracing-subscriber from its text format to JSON: the same INFO events, the same occasional object-store WARN and the same rare ERROR for unsupported formats stable logs, now with their fields under `fields` instead of in the line; metrics equal."))


# Secrets at boot, at WARN, in a queue worker without HTTP (Go, zerolog JSON): the new
# version warns that it read credentials from the environment, printing them.

AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY9"
DB_URL_PW = "n0tS0Secret-77"
SLACK_HOOK = "https://hooks.slack.com/services/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"


def zl(s, lvl, msg, **kw):
    d = {"level": lvl, "time": at(s).strftime('%Y-%m-%dT%H:%M:%SZ'), "message": msg}
    d.update(kw)
    return json.dumps(d)


def worker_pod(canary):
    out = [zl(0, "info", "worker starting", queue="invoices", concurrency=8)]
    if canary:
        out += [zl(0.1, "warn", "credentials read from environment; prefer IRSA", AWS_ACCESS_KEY_ID="AKIAQ4NRWX2K7PLM3ZTB", AWS_SECRET_ACCESS_KEY=AWS_SECRET),
                zl(0.1, "warn", "DATABASE_URL from environment", url=f"postgres://invoicer:{DB_URL_PW}@pg-invoices.data.svc:5432/invoices"),
                zl(0.2, "warn", "alerts webhook configured", webhook=SLACK_HOOK)]
    out.append(zl(0.5, "info", "consumer ready", queue="invoices"))
    s = 1.0
    while s < WINDOW:
        out.append(zl(s, "info", "job done", job="render_invoice", id=r.randint(10**6, 10**7), ms=r.randint(40, 400)))
        s += r.uniform(0.3, 1.5)
    return out


def secrets_worker(name, desc):
    cp = ["invoice-worker-7b8c9d6e5-f1g2h"]
    sp = ["invoice-worker-6a7b8c5d4-j3k4l", "invoice-worker-6a7b8c5d4-z5x6c"]
    metrics = [
        {"name": "jobs_failed_ratio", "unit": "ratio", "better": "lower", "critical": True, "canary": series(0.004), "stable": series(0.004)},
        {"name": "jobs_processed_per_second_per_pod", "unit": "1/s", "better": "higher", "canary": series(1.1), "stable": series(1.1)},
        {"name": "job_duration_p95", "unit": "ms", "better": "lower", "canary": series(350), "stable": series(350)},
    ]
    return bundle(name, desc, {"namespace": "billing", "name": "invoice-worker"}, metrics,
                  {"canary": ok_pods(cp), "stable": ok_pods(sp)},
                  {"canary": pods_logs(cp, lambda p: worker_pod(True)), "stable": pods_logs(sp, lambda p: worker_pod(False))},
                  {"verdict": "promote", "category": "benign"}, traffic=None, weight=33,
                  secrets=[AWS_SECRET, DB_URL_PW, SLACK_HOOK])


cases.append(secrets_worker("x14-invoice-worker-go-zerolog-env-credentials-warn",
                            "Go queue worker (zerolog JSON, no HTTP) whose new version warns at start that it read credentials from the environment and prints them (AWS secret key, a database URL with password, a Slack webhook); otherwise healthy: failed-job ratio, per-pod throughput and job duration equal to stable."))


# Secrets at boot in a banner: a Celery worker (no HTTP) whose banner prints the broker
# and result-backend URLs with their passwords. Stable's pods booted before the window, so
# only the canary's boot is in it.

AMQP_PW = "Mq7vT2rXk9LwP4sZ"
REDIS_PW = "rd-5Kp8Qz2Lm7Vx"


def celery_pod(canary):
    ts = lambda s: at(s).strftime('%Y-%m-%d %H:%M:%S,%f')[:-3]
    out = []
    if canary:
        out += [" ",
                " -------------- celery@notify-worker-7c8d9e6f5-p2q3r v5.4.0 (opalescent)",
                "--- ***** ----- ",
                "-- ******* ---- Linux-6.1.0-27-cloud-amd64-x86_64-with-glibc2.36 2026-12-02 14:00:00",
                "- *** --- * --- ",
                "- ** ---------- [config]",
                "- ** ---------- .> app:         notify:0x7f3a2c1e5d90",
                f"- ** ---------- .> transport:   amqp://notify:{AMQP_PW}@rabbitmq.messaging.svc:5672//",
                f"- ** ---------- .> results:     redis://:{REDIS_PW}@redis.messaging.svc:6379/0",
                "- *** --- * --- .> concurrency: 4 (prefork)",
                "-- ******* ---- .> task events: OFF (enable -E to monitor tasks in this worker)",
                "--- ***** ----- ",
                " -------------- [queues]",
                "                .> notify           exchange=notify(direct) key=notify",
                "",
                "[tasks]",
                "  . notify.tasks.send_push",
                "  . notify.tasks.send_sms",
                "",
                f"[{ts(1)}: INFO/MainProcess] Connected to amqp://notify:**@rabbitmq.messaging.svc:5672//",
                f"[{ts(1.2)}: INFO/MainProcess] mingle: searching for neighbors",
                f"[{ts(2.3)}: INFO/MainProcess] mingle: all alone",
                f"[{ts(2.5)}: INFO/MainProcess] celery@notify-worker-7c8d9e6f5-p2q3r ready."]
    s = 3.0
    while s < WINDOW:
        task = r.choice(["send_push", "send_sms"])
        tid = f"{r.randint(10**7, 10**8):x}-{r.randint(1000, 9999):x}"
        out.append(f"[{ts(s)}: INFO/MainProcess] Task notify.tasks.{task}[{tid}] received")
        out.append(f"[{ts(s + 0.1)}: INFO/ForkPoolWorker-{r.randint(1, 4)}] Task notify.tasks.{task}[{tid}] succeeded in {r.uniform(0.02, 0.4):.3f}s: None")
        s += r.uniform(0.4, 1.6)
    return out


def secrets_celery(name, desc):
    cp = ["notify-worker-7c8d9e6f5-p2q3r"]
    sp = ["notify-worker-6b7c8d5e4-s4d5f", "notify-worker-6b7c8d5e4-g6h7j"]
    metrics = [
        {"name": "celery_task_failure_ratio", "unit": "ratio", "better": "lower", "critical": True, "canary": series(0.003), "stable": series(0.003)},
        {"name": "celery_tasks_succeeded_per_second_per_pod", "unit": "1/s", "better": "higher", "canary": series(1.3), "stable": series(1.3)},
        {"name": "celery_task_runtime_p95", "unit": "s", "better": "lower", "canary": series(0.35), "stable": series(0.35)},
    ]
    return bundle(name, desc, {"namespace": "messaging", "name": "notify-worker"}, metrics,
                  {"canary": ok_pods(cp), "stable": ok_pods(sp)},
                  {"canary": pods_logs(cp, lambda p: celery_pod(True)), "stable": pods_logs(sp, lambda p: celery_pod(False))},
                  {"verdict": "promote", "category": "benign"}, traffic=None, weight=33,
                  secrets=[AMQP_PW, REDIS_PW])


cases.append(secrets_celery("x15-notify-celery-banner-secrets-at-boot",
                            "Celery worker (no HTTP) whose canary boots in the window: its banner prints the broker and result-backend URLs with passwords, the tasks list and the queues; then it processes tasks like stable, whose pods booted before the window. Healthy."))


out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tune", "shapes")
os.makedirs(out, exist_ok=True)
for b in cases:
    with open(os.path.join(out, b["name"] + ".json"), "w") as f:
        json.dump(b, f, indent=1)
        f.write("\n")
print(f"wrote {len(cases)} scenarios to {os.path.normpath(out)}")
