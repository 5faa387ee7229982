#!/usr/bin/env python3
"""Tune scenarios for blue-green analyses (stdlib, fixed seed, reproducible):
python3 evals/scenarios/gen/bluegreen.py writes evals/scenarios/tune/bluegreen/.

Pre-promotion bundles: the canary side is the preview ReplicaSet, whose only
requests are a load test's through the preview Service; the stable side is the
active version serving users. Post-promotion bundles: the canary side is the new
active version, the stable side the previous one (samples from before the switch)."""
import json, random, datetime as dt, os
r = random.Random(19)
t0 = dt.datetime(2026, 12, 3, 14, 0, 0, tzinfo=dt.timezone.utc)
def ts(s): return (t0 + dt.timedelta(seconds=s)).strftime('%Y-%m-%dT%H:%M:%S.%f')[:-3] + 'Z'
PATHS = ["/api/v1/orders", "/api/v1/orders/{id}", "/api/v1/cart", "/healthz"]
def access(s, status, ms, ua):
    return f'{ts(s)} level=info msg="request served" method=GET path={r.choice(PATHS)} status={status} duration_ms={ms} user_agent="{ua}"'
def lines(span, rate, ua, err=0.0, err_line=None, slow=1.0, start_line=True):
    out = [f'{ts(0)} level=info msg="starting orders v{"5.4.0" if start_line else "5.3.2"}" listen=:8080'] if start_line else []
    s = 0.5
    while s < span:
        if err and r.random() < err:
            out.append(access(s, 503, r.randint(900, 1500), ua))
            if err_line: out.append(err_line(s))
        else:
            out.append(access(s, 200, int(r.randint(8, 40) * slow), ua))
        s += r.expovariate(rate)
    return out
def series(base, n=10, jitter=0.1):
    return [round(base * r.uniform(1 - jitter, 1 + jitter), 5) for _ in range(n)]
def bundle(name, strategy, desc, expected, *, canary_req, err_c=0.0015, err_s=0.0015,
           p99_c=120.0, p99_s=120.0, canary_lines=None, canary_ready=True, window=300, ch="7b9f4c6d8"):
    # A hash per bundle: replay (`serve --evidence-dir`) finds bundles by canary hash.
    cp = [f"orders-{ch}-h4k2p", f"orders-{ch}-m9q5t"]
    sp = ["orders-5c8d7e6f9-a2b4c", "orders-5c8d7e6f9-x7y8z"]
    ua_c = "k6/0.55.0 (https://k6.io/)" if strategy == "blueGreenPrePromotion" else "Mozilla/5.0"
    n = 10
    canary_metrics = (lambda xs: xs) if canary_req else (lambda xs: [])
    ev = {"version": 1, "name": name, "description": desc,
      "rollout": {"namespace": "shop", "name": "orders", "canaryHash": ch, "stableHash": "5c8d7e6f9",
                  "canaryImage": "ghcr.io/acme/orders:5.4.0", "stableImage": "ghcr.io/acme/orders:5.3.2",
                  "strategy": strategy},
      "window": {"start": ts(0), "end": ts(window)},
      "traffic": {"canaryRequests": canary_req, "stableRequests": 24000},
      "metrics": [{"name": "error_rate", "unit": "ratio", "better": "lower", "critical": True,
                   "canary": canary_metrics(series(err_c, n, 0.3)), "stable": series(err_s, n, 0.3)},
                  {"name": "latency_p99_ms", "unit": "ms", "better": "lower",
                   "canary": canary_metrics(series(p99_c, n)), "stable": series(p99_s, n)}],
      "pods": {"canary": [{"name": p, "ready": canary_ready, "restarts": 0} for p in cp],
               "stable": [{"name": p, "ready": True, "restarts": 0} for p in sp]},
      "events": [{"object": f"Pod/{p}", "type": "Normal", "reason": "Started", "message": "Started container orders", "count": 1} for p in cp],
      "logs": {"canary": [{"pod": p, "lines": canary_lines(p) if canary_lines else []} for p in cp],
               "stable": [{"pod": p, "lines": lines(window, 2.0, "Mozilla/5.0", start_line=False)} for p in sp]},
      "expected": expected}
    return ev
PRE, POST = "blueGreenPrePromotion", "blueGreenPostPromotion"
K6 = "k6/0.55.0 (https://k6.io/)"
def pg_refused(s):
    return f'{ts(s)} level=error msg="query failed" err="dial tcp 10.4.2.17:5432: connect: connection refused" db=orders-replica'
cases = [
    bundle("b01-orders-preview-healthy-under-load", PRE,
        "Pre-promotion: a k6 smoke/load test drives ~5 req/s through the preview Service for the 5-minute window; the preview's error ratio and p99 match the active version's user traffic, logs show the same request lines.",
        {"verdict": "promote", "category": "benign"},
        canary_req=1500, canary_lines=lambda p: lines(300, 1.0, K6)),
    bundle("b02-orders-preview-replica-refused", PRE,
        "Pre-promotion: under the load test the preview answers 503 to about 9% of requests; its logs show a new error, connections refused by the read replica at 10.4.2.17:5432 (the new version reads from a replica the preview's network policy does not allow).",
        {"verdict": "abort", "category": "dependency", "rootCause": ["5432", "connection refused", "replica"]},
        ch="6d5c4b3a2", canary_req=1500, err_c=0.09, canary_lines=lambda p: lines(300, 1.0, K6, err=0.09, err_line=pg_refused)),
    bundle("b03-orders-preview-no-test-traffic", PRE,
        "Pre-promotion: the load test never reached the preview Service (wrong Service name), so the preview served no request at all; its pods are ready and its logs hold only the start-up line. Nothing shows it serving well.",
        {"verdict": "inconclusive", "category": "no-traffic"},
        ch="8e7f6a5b4", canary_req=0, canary_lines=lambda p: [f'{ts(0)} level=info msg="starting orders v5.4.0" listen=:8080']),
    bundle("b04-orders-postpromotion-healthy", POST,
        "Post-promotion: the new active version serves all users after the switch; error ratio and p99 over the window match the previous version's before the switch.",
        {"verdict": "promote", "category": "benign"},
        ch="9a8b7c6d5", canary_req=22000, canary_lines=lambda p: lines(300, 2.0, "Mozilla/5.0")),
    bundle("b05-orders-postpromotion-latency-regression", POST,
        "Post-promotion: the new active version's p99 latency is about 2.6x the previous version's under the same user traffic (a missing index on the new orders query); errors are unchanged. Logs show the same request lines, slower.",
        {"verdict": "abort", "category": "latency", "rootCause": ["latency"]},
        ch="4f3e2d1c0", canary_req=22000, p99_c=310.0, canary_lines=lambda p: lines(300, 2.0, "Mozilla/5.0", slow=2.6)),
]
out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tune", "bluegreen")
for ev in cases:
    with open(os.path.join(out, ev["name"] + ".json"), "w") as f:
        json.dump(ev, f, indent=1)
        f.write("\n")
