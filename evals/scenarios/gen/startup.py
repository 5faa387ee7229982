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

def spring_ts(s): return (t0 + dt.timedelta(seconds=s)).strftime('%Y-%m-%d %H:%M:%S.%f')[:-3]
def spring(s, lvl, thread, logger, msg):
    return f"{spring_ts(s)}  {lvl:>5} 1 --- [{thread:>15}] {logger:<40} : {msg}"
def spring_pod(canary, late, persist=False):
    out = [spring(0.0, "INFO", "main", "c.a.payouts.PayoutsApplication", "Starting PayoutsApplication v4.8.0 using Java 21.0.5 with PID 1")]
    s = 2.0
    if canary and late:
        for i in range(6):
            out.append(spring(s, "WARN", "main", "o.f.c.i.j.JdbcUtils", f"Connection error: Connection to 127.0.0.1:5432 refused. Check that the hostname and port are correct and that the postmaster is accepting TCP/IP connections. (Caused by Connection refused) Retrying in 3 sec... ({i+1}/10)"))
            out.append("org.postgresql.util.PSQLException: Connection to 127.0.0.1:5432 refused. Check that the hostname and port are correct and that the postmaster is accepting TCP/IP connections.")
            out.append("\tat org.postgresql.core.v3.ConnectionFactoryImpl.openConnectionImpl(ConnectionFactoryImpl.java:346)")
            out.append("\tat org.postgresql.core.ConnectionFactory.openConnection(ConnectionFactory.java:54)")
            out.append("\tat com.zaxxer.hikari.pool.PoolBase.newConnection(PoolBase.java:359)")
            out.append("Caused by: java.net.ConnectException: Connection refused")
            s += 3.0
    out.append(spring(s, "INFO", "main", "o.f.core.internal.command.DbMigrate", "Schema \"public\" is up to date. No migration necessary."))
    out.append(spring(s + 0.4, "INFO", "main", "o.s.b.w.embedded.tomcat.TomcatWebServer", "Tomcat started on port 8080 (http) with context path '/'"))
    out.append(spring(s + 0.5, "INFO", "main", "c.a.payouts.PayoutsApplication", "Started PayoutsApplication in 21.3 seconds (process running for 22.0)"))
    s += 1.0
    n = 0
    while s < 600:
        n += 1
        out.append(spring(s, "INFO", f"http-nio-8080-exec-{r.randint(1,10)}", "c.a.payouts.web.PayoutController", f"payout {r.randint(100000,999999)} scheduled for merchant m_{r.randint(1000,9999)} in {r.randint(4,60)} ms"))
        if persist and r.random() < 0.05:
            out.append(spring(s, "WARN", "HikariPool-1 housekeeper", "com.zaxxer.hikari.pool.HikariPool", "HikariPool-1 - Failed to validate connection org.postgresql.jdbc.PgConnection@5f1c2a (This connection has been closed.)"))
            out.append("org.postgresql.util.PSQLException: Connection to 127.0.0.1:5432 refused. Check that the hostname and port are correct and that the postmaster is accepting TCP/IP connections.")
            out.append("\tat org.postgresql.core.v3.ConnectionFactoryImpl.openConnectionImpl(ConnectionFactoryImpl.java:346)")
            out.append("Caused by: java.net.ConnectException: Connection refused")
        s += r.uniform(0.8, 3.0)
    return out
def spring_bundle(name, persist, expected, description):
    cp = ["payouts-6c8d9f7b4-w2x7z", "payouts-6c8d9f7b4-j5k8n"]
    sp = ["payouts-84b7c6d5f-q1r2s", "payouts-84b7c6d5f-t3u4v"]
    m = lambda base, n=10: [round(base * r.uniform(0.9, 1.1), 5) for _ in range(n)]
    return {"version": 1, "name": name, "description": description,
      "rollout": {"namespace": "payments", "name": "payouts", "step": 1, "canaryWeight": 25},
      "window": {"start": ts(0), "end": ts(600)},
      "metrics": [{"name": "success_rate", "unit": "ratio", "better": "higher", "critical": True, "canary": [round(1 - x, 5) for x in m(0.003)], "stable": [round(1 - x, 5) for x in m(0.003)]},
                  {"name": "request_rate", "unit": "req/s", "better": "higher", "canary": m(12), "stable": m(36)},
                  {"name": "latency_p95_ms", "unit": "ms", "better": "lower", "canary": m(60), "stable": m(60)}],
      "pods": {"canary": [{"name": p, "ready": True, "restarts": 0} for p in cp], "stable": [{"name": p, "ready": True, "restarts": 0} for p in sp]},
      "events": [{"object": f"Pod/{p}", "type": "Normal", "reason": "Started", "message": "Started container cloud-sql-proxy", "count": 1} for p in cp],
      "logs": {"canary": [{"pod": p, "lines": spring_pod(True, True, persist)} for p in cp],
               "stable": [{"pod": p, "lines": spring_pod(False, False)} for p in sp]},
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
springs = [
    ("s04-payouts-spring-cloudsql-proxy-late", False,
     {"verdict": "promote", "category": "benign"},
     "Spring Boot + Flyway/Hikari behind a Cloud SQL proxy sidecar that starts late: six refused connections with PSQLException traces at WARN while Flyway retries, then Tomcat starts and the pods are ready and healthy. No traffic section: the request_rate metric shows load; success ratio, better higher."),
    ("s05-payouts-spring-cloudsql-refused-after-start", True,
     {"verdict": "abort", "category": "dependency", "rootCause": ["5432", "refused", "connection"]},
     "Counter-case: the same start-up, but after Tomcat starts the pool keeps losing its connections to a refused database through the window."),
]
for name, persist, exp, desc in springs:
    with open(os.path.join(out, name + ".json"), "w") as f:
        json.dump(spring_bundle(name, persist, exp, desc), f, indent=1)
        f.write("\n")
