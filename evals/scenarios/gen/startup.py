#!/usr/bin/env python3
"""Tune scenarios for start-up transients and their counter-case (stdlib, fixed seed,
reproducible): python3 evals/scenarios/gen/startup.py writes evals/scenarios/tune/startup/."""
import json, random, datetime as dt, sys
r = random.Random(7)
t0 = dt.datetime(2026, 12, 1, 9, 0, 0, tzinfo=dt.timezone.utc)
def ts(s): return (t0 + dt.timedelta(seconds=s)).strftime('%Y-%m-%dT%H:%M:%S.%f')[:-3] + 'Z'
def req(s, pod):
    return json.dumps({"timestamp": ts(s), "level": "INFO", "target": "tower_http::trace", "fields": {"message": "finished processing request", "latency": f"{r.randint(3,40)} ms", "status": 200}, "span": {"uri": r.choice(["/v1/basket", "/v1/basket/items", "/healthz"])}})
def pod_lines(canary, startup_err, pod, v2, persist=False):
    out = []
    if canary:
        out.append(json.dumps({"timestamp": ts(0), "level": "INFO", "target": "basket", "fields": {"message": "starting basket v3.2.0"}}))
        if startup_err:
            for i in range(12):
                out.append(json.dumps({"timestamp": ts(1 + 2*i), "level": "ERROR", "target": "basket::cache", "fields": {"message": f"redis connection failed: Connection refused (os error 111), retrying in 2s (attempt {i+1})"}}))
        out.append(json.dumps({"timestamp": ts(26), "level": "INFO", "target": "basket", "fields": {"message": "listening on 0.0.0.0:8080"}}))
        s = 27
    else:
        s = 0
    k = 12
    while s < 600:
        out.append(req(s, pod)); s += r.uniform(0.5, 2.5)
        if persist and r.random() < 0.06:
            k += 1
            out.append(json.dumps({"timestamp": ts(s), "level": "ERROR", "target": "basket::cache", "fields": {"message": f"redis connection failed: Connection refused (os error 111), retrying in 2s (attempt {k})"}}))
    return out
def bundle(name, startup_err, v2, persist, expected, description):
    cp = ["basket-7f9c8d6b5-k2l9m", "basket-7f9c8d6b5-p8q3r"]
    sp = ["basket-5d6c7b8a9-a1b2c", "basket-5d6c7b8a9-d3e4f"]
    pods_c = [{"name": p, "ready": True, "restarts": 0} for p in cp]
    if v2:
        for p in pods_c: p["startedAt"] = ts(0); p["readyAt"] = ts(28)
    m = lambda base, n=10: [round(base * r.uniform(0.9, 1.1), 5) for _ in range(n)]
    return {"version": 2 if v2 else 1, "name": name, "description": description, "rollout": {"namespace": "shop", "name": "basket", "step": 1, "canaryWeight": 20},
      "window": {"start": ts(0), "end": ts(600)},
      "metrics": [{"name": "error_rate", "unit": "ratio", "better": "lower", "critical": True, "canary": m(0.002), "stable": m(0.002)},
                  {"name": "latency_p99_ms", "unit": "ms", "better": "lower", "canary": m(80), "stable": m(80)}],
      "traffic": {"canaryRequests": 4000, "stableRequests": 16000},
      "pods": {"canary": pods_c, "stable": [{"name": p, "ready": True, "restarts": 0} for p in sp]},
      "events": [{"object": f"Pod/{p}", "type": "Warning", "reason": "Unhealthy", "message": "Readiness probe failed: Get \"http://10.0.1.5:8080/healthz\": dial tcp 10.0.1.5:8080: connect: connection refused", "count": 3} for p in cp],
      "logs": {"canary": [{"pod": p, "lines": pod_lines(True, startup_err, p, v2, persist)} for p in cp],
               "stable": [{"pod": p, "lines": pod_lines(False, False, p, v2)} for p in sp]},
      "expected": expected}
import os
out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tune", "startup")
cases = [
    ("s01-basket-axum-redis-late-start", True, False, False,
     {"verdict": "promote", "category": "benign"},
     "Rust axum service (tracing-subscriber JSON): the canary's Redis sidecar starts late, so the first 25 s log refused connections and the readiness probe is refused; then ready, quiet and healthy. Version 1 bundle (no pod timestamps)."),
    ("s02-basket-axum-redis-late-start-v2", True, True, False,
     {"verdict": "promote", "category": "benign"},
     "The same start-up, as a version 2 bundle with startedAt/readyAt per pod."),
    ("s03-basket-axum-redis-refused-throughout", True, False, True,
     {"verdict": "abort", "category": "dependency", "rootCause": ["redis", "connection refused"]},
     "Counter-case: the canary never reaches Redis; refused connections go on through the window after readiness (a config error of the new version), though the cache fallback keeps HTTP metrics healthy."),
]
for name, a, v2, persist, exp, desc in cases:
    with open(os.path.join(out, name + ".json"), "w") as f:
        json.dump(bundle(name, a, v2, persist, exp, desc), f, indent=1)
        f.write("\n")
