#!/usr/bin/env python3
"""Tune scenarios from stacks and failure modes not yet in the tune set (stdlib, fixed seed,
reproducible): python3 evals/scenarios/gen/stacks.py writes evals/scenarios/tune/stacks/.

Stacks: Pekko HTTP (Scala, cluster sharding), Erlang/OTP (logger reports), C++ with glog and
with spdlog, Haskell warp (wai-extra request logger), Deno, Kafka Streams, aiohttp (asyncio
TaskGroup exception groups), Go Fiber + zap with a gRPC client, Gin, gorilla/mux + logrus,
Django under gunicorn, hapi + hapi-pino with a log-tailing sidecar, Kong, Vert.x, Tomcat with a
German locale, Bun, Swift Vapor, Koa + bunyan.

Failure modes: one of three canary pods crash-looping; a gen_server crashing under its
supervisor; `Check failed:` aborts; an unhandled promise rejection killing the process; a
streams thread dying on a deserialisation error (lag grows, no HTTP); exception groups; gRPC
Unavailable/DeadlineExceeded hidden behind a fallback that answers 200; a deadlock (requests
stop, no error logged); a Go runtime fatal error with a goroutine dump; an expired certificate
in a `Caused by:` chain; localized log levels; a small but real error rise at high traffic.
Healthy shapes: new INFO/DEBUG templates, a dependency bump that rewords existing lines,
every line duplicated by a sidecar, non-English lines, a stable version that is itself
failing while the canary is not (and its counter-case), a DNS outage both versions share, a
canary pod that never becomes ready.

Labels were written with the case, before the judge was run on it.
"""
import datetime as dt
import json
import os
import random

r = random.Random(41)
t0 = dt.datetime(2026, 12, 7, 10, 0, 0, tzinfo=dt.timezone.utc)
WINDOW = 600
N = 20  # samples: one per 30 s


def at(s):
    return t0 + dt.timedelta(seconds=s)


def iso(s):
    return at(s).strftime('%Y-%m-%dT%H:%M:%S.%f')[:-3] + 'Z'


def series(base, n=N, spread=0.1):
    return [round(base * r.uniform(1 - spread, 1 + spread), 6) for _ in range(n)]


def ramp(a, b, n=N, spread=0.04):
    return [round((a + (b - a) * i / (n - 1)) * r.uniform(1 - spread, 1 + spread), 6) for i in range(n)]


def success(err_base, n=N, spread=0.15):
    return [round(1 - x, 6) for x in series(err_base, n, spread)]


def pod(name, ready=True, restarts=0, reason=None, v2=False, started=-86400, ready_at=None):
    d = {"name": name, "ready": ready, "restarts": restarts, "lastTerminationReason": reason}
    if v2:
        d["startedAt"] = iso(started)
        if ready_at is not None:
            d["readyAt"] = iso(ready_at)
    return d


def ev(obj, typ, reason, msg, count=1):
    return {"object": obj, "type": typ, "reason": reason, "message": msg, "count": count}


def ip():
    return f"10.{r.randint(1, 9)}.{r.randint(0, 255)}.{r.randint(2, 254)}"


def hexid(n=16):
    return "".join(r.choice("0123456789abcdef") for _ in range(n))


def bundle(name, desc, ns, app, images, metrics, pods, logs, expected, events=(), traffic=None,
           weight=20, v2=False, step=1):
    b = {"version": 2 if v2 else 1, "name": name, "description": desc,
         "rollout": {"namespace": ns, "name": app, "canaryHash": pods["canary"][0]["name"].split("-")[-2], "stableHash": pods["stable"][0]["name"].split("-")[-2],
                     "canaryImage": images[0], "stableImage": images[1], "canaryWeight": weight, "step": step},
         "window": {"start": iso(0), "end": iso(WINDOW)}}
    if traffic:
        b["traffic"] = {"canaryRequests": traffic[0], "stableRequests": traffic[1]}
    b["metrics"] = metrics
    b["pods"] = pods
    b["events"] = list(events)
    b["logs"] = logs
    b["expected"] = expected
    return b


def walk(start, end, lo, hi):
    """Times of events between start and end, gaps uniform in [lo, hi]."""
    s = start
    while s < end:
        yield s
        s += r.uniform(lo, hi)


cases = []

# ---------------------------------------------------------------------------------------
# k01 Pekko HTTP (Scala), cluster sharding, logback. One of three canary pods hosts the
# shard whose entity was written in the new event shape by another pod, cannot replay it,
# and the guardian's failure terminates the JVM: that pod crash-loops, the other two serve.

def pekko(s, lvl, src, logger, msg):
    return f"{at(s).strftime('%H:%M:%S.%f')[:-3]} {lvl:<5} [{src}] {logger} - {msg}"


def pekko_boot(s, host):
    return [pekko(s, "INFO", "pekko://carts/system", "o.a.p.e.s.Slf4jLogger", "Slf4jLogger started"),
            pekko(s + 0.4, "INFO", "pekko://carts/system/cluster/core/daemon", "o.a.p.cluster.Cluster", f"Cluster Node [pekko://carts@{host}:7355] - Starting up, Pekko version [1.1.2] ..."),
            pekko(s + 1.1, "INFO", "pekko://carts/system/cluster/core/daemon", "o.a.p.cluster.Cluster", f"Cluster Node [pekko://carts@{host}:7355] - Welcome from [pekko://carts@10.4.1.17:7355]"),
            pekko(s + 1.6, "INFO", "pekko://carts/user", "c.a.carts.Main", "Server online at http://0.0.0.0:8080/")]


def pekko_crash(s):
    sig = "Exception during recovery. Last known sequence number [57]. PersistenceId [cart|8812], due to: Exception during recovery. Last known sequence number [57]. PersistenceId [cart|8812], due to: com.fasterxml.jackson.databind.exc.MismatchedInputException: Cannot deserialize value of type `com.acme.carts.Cart$ItemAdded` from Object value (token `JsonToken.START_OBJECT`)"
    return [pekko(s, "ERROR", "pekko://carts/system/sharding/cart/42/cart%7C8812", "o.a.p.p.t.i.EventSourcedBehaviorImpl", f"Supervisor StopSupervisor saw failure: {sig}"),
            "org.apache.pekko.persistence.typed.internal.JournalFailureException: Exception during recovery. Last known sequence number [57]. PersistenceId [cart|8812], due to: com.fasterxml.jackson.databind.exc.MismatchedInputException: Cannot deserialize value of type `com.acme.carts.Cart$ItemAdded` from Object value (token `JsonToken.START_OBJECT`)",
            "\tat org.apache.pekko.persistence.typed.internal.ReplayingEvents.onRecoveryFailure(ReplayingEvents.scala:259)",
            "\tat org.apache.pekko.persistence.typed.internal.ReplayingEvents.onJournalResponse(ReplayingEvents.scala:190)",
            "\tat org.apache.pekko.actor.typed.internal.BehaviorImpl$ReceiveBehavior.receive(BehaviorImpl.scala:152)",
            "Caused by: com.fasterxml.jackson.databind.exc.MismatchedInputException: Cannot deserialize value of type `com.acme.carts.Cart$ItemAdded` from Object value (token `JsonToken.START_OBJECT`)",
            " at [Source: REDACTED (`StreamReadFeature.INCLUDE_SOURCE_IN_LOCATION` disabled); line: 1, column: 28] (through reference chain: com.acme.carts.Cart$ItemAdded[\"quantity\"])",
            "\tat com.fasterxml.jackson.databind.exc.MismatchedInputException.from(MismatchedInputException.java:59)",
            "\tat com.fasterxml.jackson.databind.DeserializationContext.reportInputMismatch(DeserializationContext.java:1767)",
            "\tat org.apache.pekko.serialization.jackson.JacksonSerializer.fromBinary(JacksonSerializer.scala:453)",
            "\t... 24 common frames omitted",
            pekko(s + 0.2, "ERROR", "pekko://carts/user", "o.a.p.a.t.internal.adapter.ActorSystemAdapter", "Guardian failed, terminating ActorSystem [carts]: org.apache.pekko.actor.typed.DeathPactException: Death pact with Actor[pekko://carts/system/sharding/cart#-1388240514] was triggered"),
            pekko(s + 0.3, "INFO", "pekko://carts/system/cluster/core/daemon", "o.a.p.cluster.Cluster", "Cluster Node [pekko://carts@10.4.2.31:7355] - Exiting completed"),
            pekko(s + 0.5, "INFO", "pekko://carts/system", "o.a.p.a.CoordinatedShutdown", "Running CoordinatedShutdown with reason [JvmExitReason]")]


def pekko_pod(host, crash=False):
    out = []
    if crash:
        # the previous instances (kubectl logs --previous), then the current one
        for start in (0, 95, 230, 430):
            out += pekko_boot(start, host)
            for s in walk(start + 2, start + 14, 0.6, 2.0):
                out.append(pekko(s, "INFO", "pekko://carts/user/http", "c.a.carts.Routes", f"GET /v1/carts/{r.randint(1000, 9999)} -> 200 in {r.randint(3, 30)} ms"))
            out += pekko_crash(start + 15)
        return out
    out += pekko_boot(-3600, host)[3:]
    for s in walk(0, WINDOW, 0.5, 1.8):
        m = r.choice(["GET", "GET", "POST"])
        out.append(pekko(s, "INFO", "pekko://carts/user/http", "c.a.carts.Routes", f"{m} /v1/carts/{r.randint(1000, 9999)}{'/items' if m == 'POST' else ''} -> {201 if m == 'POST' else 200} in {r.randint(3, 40)} ms"))
        if r.random() < 0.01:
            out.append(pekko(s, "WARN", "pekko://carts/system/sharding/cart", "o.a.p.c.sharding.ShardRegion", f"cart: Retry request for shard [{r.randint(0, 99)}] homes from coordinator. [1] buffered messages."))
    return out


cp = ["carts-6f9d7c8b5-2xk4p", "carts-6f9d7c8b5-8mq7z", "carts-6f9d7c8b5-wt3hn"]
sp = ["carts-54c8b6d7f-bn2vr", "carts-54c8b6d7f-gh6ks", "carts-54c8b6d7f-lp9dc", "carts-54c8b6d7f-q4wxe"]
cases.append(bundle(
    "k01-carts-pekko-one-of-three-crashloop",
    "Pekko HTTP cart service with cluster sharding (logback). One of the three canary pods owns the shard holding an entity whose events it cannot deserialize (Jackson MismatchedInputException inside a JournalFailureException during recovery); the guardian fails, the JVM exits, and the pod restarts four times (CrashLoopBackOff). The other two canary pods serve normally, so the aggregated error ratio is only slightly up. Version 2 bundle.",
    "shop", "carts", ("ghcr.io/acme/carts:3.4.0", "ghcr.io/acme/carts:3.3.2"),
    [{"name": "http_error_ratio", "unit": "ratio", "better": "lower", "critical": True, "canary": series(0.0045), "stable": series(0.002)},
     {"name": "http_latency_p95_ms", "unit": "ms", "better": "lower", "canary": series(42), "stable": series(40)}],
    {"canary": [pod(cp[0], False, 4, "Error", True, 430, None), pod(cp[1], True, 0, None, True, -20, -5), pod(cp[2], True, 0, None, True, -20, -4)],
     "stable": [pod(p, v2=True, started=-86400, ready_at=-86380) for p in sp]},
    {"canary": [{"pod": cp[0], "lines": pekko_pod("10.4.2.31", True)}, {"pod": cp[1], "lines": pekko_pod("10.4.2.32")}, {"pod": cp[2], "lines": pekko_pod("10.4.2.33")}],
     "stable": [{"pod": p, "lines": pekko_pod(f"10.4.1.{i + 17}")} for i, p in enumerate(sp)]},
    {"verdict": "abort", "category": "crashloop", "rootCause": ["JournalFailureException", "MismatchedInputException", "CrashLoopBackOff", "restart"]},
    events=[ev(f"Pod/{cp[0]}", "Warning", "BackOff", "Back-off restarting failed container carts in pod carts-6f9d7c8b5-2xk4p_shop(5d1c3e0a-7b2f-4a51-9c1e-2f6a8b7d4c10)", 6)],
    traffic=(4300, 17800), weight=20, v2=True))

# ---------------------------------------------------------------------------------------
# k02 Erlang/OTP (cowboy), OTP 26 logger: a gen_server crash report and a supervisor report
# for every failed update; the supervisor restarts the child, the pod does not restart.

def erl_ts(s):
    return at(s).strftime('%Y-%m-%dT%H:%M:%S.%f') + "+00:00"


def erl_date(s):
    return f"{at(s).day}-{at(s).strftime('%b-%Y::%H:%M:%S.%f')}"


def erl_crash(s, uid, pid):
    return [f"=ERROR REPORT==== {erl_date(s)} ===",
            f"** Generic server <0.{pid}.0> terminating ",
            f"** Last message in was {{update,<<\"{uid}\">>,#{{status => away}}}}",
            f"** When Server state == {{state,<<\"{uid}\">>,online,{1765101600 + int(s)}}}",
            "** Reason for termination ==",
            "** {{badmatch,{error,not_found}},[{presence_store,fetch,2,[{file,\"src/presence_store.erl\"},{line,88}]},{presence_session,handle_call,3,[{file,\"src/presence_session.erl\"},{line,141}]},{gen_server,try_handle_call,4,[{file,\"gen_server.erl\"},{line,1131}]},{gen_server,handle_msg,6,[{file,\"gen_server.erl\"},{line,1160}]}]}",
            f"=CRASH REPORT==== {erl_date(s + 0.001)} ===",
            "  crasher:",
            "    initial call: presence_session:init/1",
            f"    pid: <0.{pid}.0>",
            "    registered_name: []",
            "    exception error: no match of right hand side value {error,not_found}",
            "      in function  presence_store:fetch/2 (src/presence_store.erl, line 88)",
            "      in call from presence_session:handle_call/3 (src/presence_session.erl, line 141)",
            "    ancestors: [presence_session_sup,presence_sup,<0.214.0>]",
            "    message_queue_len: 0",
            "    messages: []",
            "    links: [<0.219.0>]",
            "    dictionary: []",
            "    trap_exit: false",
            "    status: running",
            "    heap_size: 1598",
            "    stack_size: 28",
            "    reductions: 9421",
            "  neighbours:",
            f"=SUPERVISOR REPORT==== {erl_date(s + 0.002)} ===",
            "    supervisor: {local,presence_session_sup}",
            "    errorContext: child_terminated",
            "    reason: {badmatch,{error,not_found}}",
            f"    offender: [{{pid,<0.{pid}.0>}},{{id,presence_session}},{{mfargs,{{presence_session,start_link,[]}}}},{{restart_type,transient}},{{significant,false}},{{shutdown,5000}},{{child_type,worker}}]"]


def erl_pod(bug):
    out = []
    for s in walk(0, WINDOW, 0.4, 1.5):
        uid = f"u-{r.randint(10000, 99999)}"
        if bug and r.random() < 0.03:
            out += erl_crash(s, uid, r.randint(3000, 9000))
            out.append(f"{erl_ts(s + 0.003)} info: presence_http: PUT /v1/presence/{uid} 500 2ms")
            continue
        m = r.choice(["GET", "PUT", "PUT"])
        out.append(f"{erl_ts(s)} info: presence_http: {m} /v1/presence/{uid} 200 {r.randint(1, 9)}ms")
        if r.random() < 0.004:
            out.append(f"{erl_ts(s)} warning: presence_fanout: slow subscriber <0.{r.randint(3000, 9000)}.0> dropped 1 message (mailbox 10000)")
    return out


cp = ["presence-7b6c9d8f4-k2m9q", "presence-7b6c9d8f4-v8r3t"]
sp = ["presence-5d9c8b7a6-a3s4d", "presence-5d9c8b7a6-f5g6h", "presence-5d9c8b7a6-j7k8l"]
cases.append(bundle(
    "k02-presence-erlang-gen-server-badmatch",
    "Erlang/OTP 26 service on cowboy with the default logger formatter: about 3% of presence updates on the canary crash their gen_server with {badmatch,{error,not_found}} in presence_store:fetch/2 (error, crash and supervisor reports, the child restarted by its supervisor, the pod never restarts), answered 500; error ratio 3% against 0.1%.",
    "chat", "presence", ("registry.acme.io/presence:2.9.0", "registry.acme.io/presence:2.8.4"),
    [{"name": "cowboy_error_ratio", "unit": "ratio", "better": "lower", "critical": True, "canary": series(0.03), "stable": series(0.001)},
     {"name": "cowboy_request_duration_p99_ms", "unit": "ms", "better": "lower", "canary": series(14), "stable": series(13)}],
    {"canary": [pod(p) for p in cp], "stable": [pod(p) for p in sp]},
    {"canary": [{"pod": p, "lines": erl_pod(True)} for p in cp], "stable": [{"pod": p, "lines": erl_pod(False)} for p in sp]},
    {"verdict": "abort", "category": "error-rate", "rootCause": ["badmatch", "presence_store", "not_found"]},
    traffic=(1400, 5100), weight=20))

# ---------------------------------------------------------------------------------------
# k03 C++ with glog: a CHECK fails on some tiles; glog prints the check failure stack trace,
# abseil's failure signal handler reports SIGABRT, the container exits and restarts.

def glog(s, lvl, tid, src, msg):
    return f"{lvl}{at(s).strftime('%m%d %H:%M:%S.%f')} {tid:>6} {src}] {msg}"


def glog_boot(s):
    return [f"Log file created at: {at(s).strftime('%Y/%m/%d %H:%M:%S')}",
            f"Running on machine: tiles",
            "Log line format: [IWEF]mmdd hh:mm:ss.uuuuuu threadid file:line] msg",
            glog(s, "I", 1, "main.cc:54", "tile-server 5.2.0 (built Dec  6 2026 18:02:11) starting"),
            glog(s + 0.2, "I", 1, "tile_cache.cc:71", "mapped 4 shards, 3.81 GiB"),
            glog(s + 0.3, "I", 1, "server.cc:88", "Listening on 0.0.0.0:9000 with 8 workers")]


def glog_crash(s, tid):
    z, x, y = 18, r.randint(100000, 200000), r.randint(80000, 90000)
    return [glog(s, "F", tid, "tile_cache.cc:211", f"Check failed: offset + len <= size_ (4104 vs. 4096) tile {z}/{x}/{y}"),
            "*** Check failure stack trace: ***",
            "    @     0x55d1c2a3b4c5  google::LogMessage::Fail()",
            "    @     0x55d1c2a3e1f0  google::LogMessage::SendToLog()",
            "    @     0x55d1c2a3b0d2  google::LogMessage::Flush()",
            "    @     0x55d1c2a3f7aa  google::LogMessageFatal::~LogMessageFatal()",
            "    @     0x55d1c28f12e4  tiles::TileCache::Read()",
            "    @     0x55d1c28e9a10  tiles::Server::HandleTile()",
            "    @     0x55d1c28e71c3  std::_Function_handler<>::_M_invoke()",
            "    @     0x7f2b9c4a8ac3  start_thread",
            f"*** SIGABRT received at time={1765101600 + int(s)} on cpu 3 ***",
            "PC: @     0x7f2b9c4aa9fc  (unknown)  pthread_kill",
            "    @     0x55d1c2b01c8e        192  absl::WriteFailureInfo()",
            "    @     0x55d1c2b01a02         64  absl::AbslFailureSignalHandler()",
            "    @     0x7f2b9c454520  (unknown)  (unknown)"]


def glog_pod(crash):
    out = glog_boot(-7200 if not crash else 0)
    starts = [0, 140, 310, 470] if crash else [0]
    for i, st in enumerate(starts):
        end = starts[i + 1] - 12 if crash and i + 1 < len(starts) else WINDOW
        if crash and i > 0:
            out += glog_boot(st)
        for s in walk(st + 1, end, 0.3, 1.1):
            out.append(glog(s, "I", r.randint(20, 28), "server.cc:140", f"GET /tiles/{r.randint(10, 18)}/{r.randint(1000, 200000)}/{r.randint(1000, 90000)}.pbf 200 {r.randint(1, 40)}ms"))
            if r.random() < 0.006:
                out.append(glog(s, "W", r.randint(20, 28), "upstream.cc:77", f"render backend slow: {r.randint(800, 2500)}ms for tile, serving stale"))
        if crash and i + 1 < len(starts):
            out += glog_crash(end + 1, r.randint(20, 28))
    return out


cp = ["tiles-8c7d6f5b9-d4f5g", "tiles-8c7d6f5b9-h6j7k"]
sp = ["tiles-6a5b4c3d2-m1n2b", "tiles-6a5b4c3d2-v3c4x", "tiles-6a5b4c3d2-z5a6s"]
cases.append(bundle(
    "k03-tiles-cpp-glog-check-failed",
    "C++ map tile server logging with glog: a CHECK on the cache's read bounds fails for some tiles (F-level `Check failed:` with glog's check failure stack trace and abseil's SIGABRT report); each canary container aborted three times in the window (restarts 3, last termination Error, BackOff events). Error ratio 1.8% against 0.1%.",
    "maps", "tiles", ("gcr.io/acme-maps/tiles:5.2.0", "gcr.io/acme-maps/tiles:5.1.3"),
    [{"name": "http_5xx_ratio", "unit": "ratio", "better": "lower", "critical": True, "canary": series(0.018), "stable": series(0.001)},
     {"name": "http_duration_p95_ms", "unit": "ms", "better": "lower", "canary": series(31), "stable": series(30)}],
    {"canary": [pod(p, True, 3, "Error") for p in cp], "stable": [pod(p) for p in sp]},
    {"canary": [{"pod": p, "lines": glog_pod(True)} for p in cp], "stable": [{"pod": p, "lines": glog_pod(False)} for p in sp]},
    {"verdict": "abort", "category": "crashloop", "rootCause": ["Check failed", "tile_cache", "SIGABRT"]},
    events=[ev(f"Pod/{p}", "Warning", "BackOff", f"Back-off restarting failed container tiles in pod {p}_maps(9c2e{i}a51-1f3d-4b7e-8a20-5e6f7d8c9b0a)", 3) for i, p in enumerate(cp)],
    traffic=(6100, 24500), weight=20))

# ---------------------------------------------------------------------------------------
# k04 C++ with spdlog: the new version adds INFO lines at start-up and per cache cycle, and
# DEBUG lines it forgot to turn off; everything else equal.

def spd(s, logger, lvl, msg):
    return f"[{at(s).strftime('%Y-%m-%d %H:%M:%S.%f')[:-3]}] [{logger}] [{lvl}] {msg}"


def spd_pod(canary):
    out = [spd(-5 if canary else -9000, "router", "info", "geo-router starting, profile=car, threads=8")]
    if canary:
        out += [spd(-4.2, "graph", "info", f"warmed {r.randint(2, 4)} contraction hierarchies in {r.randint(600, 900)} ms"),
                spd(-4.1, "graph", "info", "using turn-cost model v2 (experimental=false)")]
    nxt = 30
    for s in walk(0, WINDOW, 0.3, 1.2):
        out.append(spd(s, "http", "info", f"POST /v1/route 200 {r.randint(3, 60)}ms legs={r.randint(1, 5)}"))
        if canary and r.random() < 0.25:
            out.append(spd(s, "graph", "debug", f"ch query settled {r.randint(200, 9000)} nodes, {r.randint(1, 9)} shortcuts unpacked"))
        if r.random() < 0.01:
            out.append(spd(s, "graph", "warning", f"slow route computation {r.randint(900, 2200)} ms (legs={r.randint(4, 9)})"))
        if canary and s > nxt:
            out.append(spd(s, "cache", "info", f"route cache stats: hits={r.randint(800, 1200)} misses={r.randint(50, 150)} evictions={r.randint(0, 30)}"))
            nxt += 30
    return out


cp = ["geo-router-7f6e5d4c3-q1w2e"]
sp = ["geo-router-5e4d3c2b1-r3t4y", "geo-router-5e4d3c2b1-u5i6o", "geo-router-5e4d3c2b1-p7a8s"]
cases.append(bundle(
    "k04-geo-router-cpp-spdlog-new-info-debug",
    "C++ routing service logging with spdlog: the new version logs new INFO lines at start-up (graph warm-up) and every 30 s (cache stats), and DEBUG lines on a quarter of requests; the same occasional slow-route WARN as stable; metrics equal.",
    "mobility", "geo-router", ("ghcr.io/acme/geo-router:1.12.0", "ghcr.io/acme/geo-router:1.11.4"),
    [{"name": "http_error_ratio", "unit": "ratio", "better": "lower", "critical": True, "canary": series(0.0015), "stable": series(0.0015)},
     {"name": "route_latency_p99_ms", "unit": "ms", "better": "lower", "canary": series(180), "stable": series(182)},
     {"name": "process_resident_memory_mib", "unit": "MiB", "better": "lower", "canary": series(4100, spread=0.02), "stable": series(4080, spread=0.02)}],
    {"canary": [pod(p) for p in cp], "stable": [pod(p) for p in sp]},
    {"canary": [{"pod": p, "lines": spd_pod(True)} for p in cp], "stable": [{"pod": p, "lines": spd_pod(False)} for p in sp]},
    {"verdict": "promote", "category": "benign"},
    traffic=(850, 7600), weight=10))

# ---------------------------------------------------------------------------------------
# k05 Haskell warp (wai-extra Apache-style request logger): one of three canary pods waits
# for a Postgres advisory lock another instance holds and never becomes ready. The two
# ready pods serve as stable does.

def warp_access(s):
    path = r.choice(["/v1/price?sku=", "/v1/price?sku=", "/v1/bundle?id="]) + str(r.randint(10000, 99999))
    return f"{ip()} - - [{at(s).strftime('%d/%b/%Y:%H:%M:%S +0000')}] \"GET {path} HTTP/1.1\" 200 - \"\" \"Go-http-client/1.1\""


def warp_pod(waiting=False, boot=-9000):
    out = [f"[{at(boot).strftime('%Y-%m-%d %H:%M:%S')} UTC] pricing-hs 0.19.0: connecting to postgres",
           f"[{at(boot + 0.5).strftime('%Y-%m-%d %H:%M:%S')} UTC] pricing-hs 0.19.0: acquiring schema lock (pg_advisory_lock 7231)"]
    if waiting:
        for s in walk(boot + 10, WINDOW, 10, 10.001):
            out.append(f"[{at(s).strftime('%Y-%m-%d %H:%M:%S')} UTC] pricing-hs 0.19.0: still waiting for schema lock 7231 held by pid 48113 (pricing-hs-7d8c9b6a5-r2t5y)")
        return out
    out += [f"[{at(boot + 0.8).strftime('%Y-%m-%d %H:%M:%S')} UTC] pricing-hs 0.19.0: schema up to date (version 42)",
            f"[{at(boot + 0.9).strftime('%Y-%m-%d %H:%M:%S')} UTC] pricing-hs 0.19.0: Warp listening on port 8080"]
    for s in walk(max(boot + 1, 0), WINDOW, 0.5, 1.8):
        out.append(warp_access(s))
    return out


cp = ["pricing-hs-7d8c9b6a5-r2t5y", "pricing-hs-7d8c9b6a5-k8n3w", "pricing-hs-7d8c9b6a5-x4c7v"]
sp = ["pricing-hs-6c7b8a594-a1b2c", "pricing-hs-6c7b8a594-d3e4f", "pricing-hs-6c7b8a594-g5h6j"]
cases.append(bundle(
    "k05-pricing-haskell-warp-pod-never-ready",
    "Haskell service on warp (wai-extra request logger). One of three canary pods has waited the whole window for a Postgres advisory lock that another instance holds, never listens, and is not ready (readiness probe failing, no restarts); the two ready canary pods serve as stable does. Something is wrong with the release's start-up on one pod: hold, don't promote.",
    "pricing", "pricing-hs", ("ghcr.io/acme/pricing-hs:0.19.0", "ghcr.io/acme/pricing-hs:0.18.2"),
    [{"name": "http_error_ratio", "unit": "ratio", "better": "lower", "critical": True, "canary": series(0.001), "stable": series(0.001)},
     {"name": "http_latency_p95_ms", "unit": "ms", "better": "lower", "canary": series(22), "stable": series(22)}],
    {"canary": [pod(cp[0], True, 0, None, True, -40, -35), pod(cp[1], False, 0, None, True, -40, None), pod(cp[2], True, 0, None, True, -40, -34)],
     "stable": [pod(p, v2=True, started=-9000, ready_at=-8990) for p in sp]},
    {"canary": [{"pod": cp[0], "lines": warp_pod(boot=-40)}, {"pod": cp[1], "lines": warp_pod(True, -40)}, {"pod": cp[2], "lines": warp_pod(boot=-40)}],
     "stable": [{"pod": p, "lines": warp_pod()} for p in sp]},
    {"verdict": "inconclusive", "category": "not-ready", "rootCause": ["not ready", "schema lock", "Readiness"]},
    events=[ev(f"Pod/{cp[1]}", "Warning", "Unhealthy", "Readiness probe failed: Get \"http://10.6.3.41:8080/ready\": dial tcp 10.6.3.41:8080: connect: connection refused", 64)],
    traffic=(2600, 7900), weight=25, v2=True))

# ---------------------------------------------------------------------------------------
# k06 Deno (Oak): an unhandled promise rejection ends the Deno process; the pod restarts.

def deno_pod(crash):
    out = []
    starts = [0, 75, 200, 380] if crash else [-5000]
    for i, st in enumerate(starts):
        end = starts[i + 1] - 8 if crash and i + 1 < len(starts) else WINDOW
        out.append("Listening on http://0.0.0.0:8000/")
        for s in walk(max(st + 0.3, 0), end, 0.3, 1.2):
            out.append(f"INFO {iso(s)} GET /api/quotes/{r.randint(1000, 9999)} 200 {r.randint(2, 25)}ms")
            if r.random() < 0.003:
                out.append(f"WARN {iso(s)} rates cache miss, fetching from upstream")
        if crash and i + 1 < len(starts):
            out += ["error: Uncaught (in promise) TypeError: Cannot read properties of undefined (reading 'currency')",
                    "    at formatQuote (file:///app/src/quotes.ts:42:31)",
                    "    at file:///app/src/routes.ts:18:22",
                    "    at eventLoopTick (ext:core/01_core.js:175:7)"]
    return out


cp = ["quotes-deno-6b5c4d3e2-f7g8h", "quotes-deno-6b5c4d3e2-j9k0l"]
sp = ["quotes-deno-5a4b3c2d1-z1x2c", "quotes-deno-5a4b3c2d1-v3b4n", "quotes-deno-5a4b3c2d1-m5q6w"]
cases.append(bundle(
    "k06-quotes-deno-unhandled-rejection",
    "Deno (Oak) quote API: a promise rejected in a handler is never awaited, so Deno prints `error: Uncaught (in promise) TypeError` and exits; each canary pod restarted three times (last termination Error, BackOff) and requests in flight fail: 5% error ratio against 0.2%.",
    "trading", "quotes-deno", ("ghcr.io/acme/quotes-deno:0.31.0", "ghcr.io/acme/quotes-deno:0.30.2"),
    [{"name": "http_request_error_ratio", "unit": "ratio", "better": "lower", "critical": True, "canary": series(0.05, spread=0.4), "stable": series(0.002)},
     {"name": "http_request_duration_p95_ms", "unit": "ms", "better": "lower", "canary": series(24), "stable": series(23)}],
    {"canary": [pod(p, True, 3, "Error") for p in cp], "stable": [pod(p) for p in sp]},
    {"canary": [{"pod": p, "lines": deno_pod(True)} for p in cp], "stable": [{"pod": p, "lines": deno_pod(False)} for p in sp]},
    {"verdict": "abort", "category": "crashloop", "rootCause": ["Uncaught", "TypeError", "currency", "formatQuote"]},
    events=[ev(f"Pod/{p}", "Warning", "BackOff", "Back-off restarting failed container quotes in pod " + p, 2) for p in cp],
    traffic=(3900, 15800), weight=20))

# ---------------------------------------------------------------------------------------
# k07 Kafka Streams (Spring Boot, logback): the stream thread fails on a record it cannot
# deserialise and the uncaught exception handler shuts the client down. No HTTP: the pod
# stays up and ready, the consumer lag grows.

def sb(s, lvl, thread, logger, msg):
    return f"{at(s).strftime('%Y-%m-%dT%H:%M:%S.%f')[:-3]}Z {lvl:>5} 1 --- [order-enricher] [{thread:>15}] {logger:<40} : {msg}"


def streams_pod(i, broken):
    th = f"order-enricher-{hexid(8)}-StreamThread-1"
    out = [sb(-3 if broken else -8000, "INFO", "main", "c.a.enricher.OrderEnricherApplication", "Started OrderEnricherApplication in 6.112 seconds (process running for 6.9)"),
           sb(-2 if broken else -7999, "INFO", th[-15:], "o.a.k.s.p.internals.StreamThread", f"stream-thread [{th}] State transition from PARTITIONS_ASSIGNED to RUNNING")]
    fail = 95 + 40 * i if broken else None
    for s in walk(0, WINDOW, 0.4, 1.4):
        if fail and s > fail:
            break
        out.append(sb(s, "INFO", th[-15:], "c.a.enricher.EnrichProcessor", f"enriched order {r.randint(10**6, 10**7)} partition={r.randint(0, 11)} lag={r.randint(0, 40)}"))
        if r.random() < 0.005:
            out.append(sb(s, "WARN", th[-15:], "o.a.k.clients.consumer.internals.ConsumerCoordinator", f"[Consumer clientId={th}-consumer, groupId=order-enricher] Offset commit failed on partition orders-{r.randint(0, 11)} at offset {r.randint(10**6, 10**7)}: The request timed out."))
    if fail:
        out += [sb(fail, "ERROR", th[-15:], "o.a.k.s.p.internals.StreamThread", f"stream-thread [{th}] Encountered the following exception during processing and the registered exception handler opted to SHUTDOWN_CLIENT. The streams client is going to shut down now. "),
                f"org.apache.kafka.streams.errors.StreamsException: Exception caught in process. taskId=0_{3 + i}, processor=KSTREAM-SOURCE-0000000000, topic=orders, partition={3 + i}, offset=1882211, stacktrace=org.apache.kafka.common.errors.SerializationException: Error deserializing Avro message for id 412",
                "\tat org.apache.kafka.streams.processor.internals.StreamTask.process(StreamTask.java:793)",
                "\tat org.apache.kafka.streams.processor.internals.TaskExecutor.processTask(TaskExecutor.java:97)",
                "\tat org.apache.kafka.streams.processor.internals.StreamThread.runLoop(StreamThread.java:904)",
                "\tat org.apache.kafka.streams.processor.internals.StreamThread.run(StreamThread.java:621)",
                "Caused by: org.apache.kafka.common.errors.SerializationException: Error deserializing Avro message for id 412",
                "\tat io.confluent.kafka.serializers.AbstractKafkaAvroDeserializer$DeserializationContext.read(AbstractKafkaAvroDeserializer.java:483)",
                "\tat io.confluent.kafka.streams.serdes.avro.SpecificAvroDeserializer.deserialize(SpecificAvroDeserializer.java:66)",
                "\t... 9 common frames omitted",
                "Caused by: org.apache.avro.AvroTypeException: Found com.acme.orders.Order, expecting com.acme.orders.Order, missing required field discountCode",
                "\tat org.apache.avro.io.ResolvingDecoder.doAction(ResolvingDecoder.java:308)",
                "\tat org.apache.avro.specific.SpecificDatumReader.readRecord(SpecificDatumReader.java:123)",
                "\t... 14 common frames omitted",
                sb(fail + 0.1, "INFO", th[-15:], "o.a.k.s.p.internals.StreamThread", f"stream-thread [{th}] State transition from RUNNING to PENDING_SHUTDOWN"),
                sb(fail + 0.4, "INFO", th[-15:], "org.apache.kafka.streams.KafkaStreams", f"stream-client [order-enricher-{th.split('-')[2]}] State transition from RUNNING to PENDING_ERROR"),
                sb(fail + 1.2, "INFO", "ms-close-thread", "org.apache.kafka.streams.KafkaStreams", f"stream-client [order-enricher-{th.split('-')[2]}] State transition from PENDING_ERROR to ERROR"),
                sb(fail + 1.2, "ERROR", "ms-close-thread", "org.apache.kafka.streams.KafkaStreams", f"stream-client [order-enricher-{th.split('-')[2]}] Streams client stopped to ERROR completely")]
    return out


cp = ["order-enricher-7c6b5a4d3-n2m3b", "order-enricher-7c6b5a4d3-v4c5x"]
sp = [f"order-enricher-5b4a3c2d1-{s}" for s in ("q1a2z", "w3s4x", "e5d6c", "r7f8v")]
lag_c = [0, 0, 0, 0, 300, 2100, 4800, 7900, 11200, 14600, 18100, 21700, 25400, 29000, 32800, 36500, 40300, 44100, 47900, 51800]
cases.append(bundle(
    "k07-order-enricher-kafka-streams-avro-shutdown",
    "Kafka Streams application (Spring Boot, logback), no HTTP traffic. The new version's Avro reader schema requires a field old records lack: the stream thread fails with StreamsException caused by SerializationException caused by AvroTypeException, the handler shuts the client down (state ERROR), the pods stay up and ready, processing stops and consumer lag grows from 0 to 50k while stable keeps up.",
    "orders", "order-enricher", ("ghcr.io/acme/order-enricher:4.0.0", "ghcr.io/acme/order-enricher:3.9.1"),
    [{"name": "kafka_consumergroup_lag_sum", "unit": "count", "better": "lower", "critical": True, "canary": [float(x) for x in lag_c], "stable": [float(x) for x in series(30, spread=0.5)]},
     {"name": "kafka_stream_process_rate_per_pod", "unit": "1/s", "better": "higher", "canary": series(40)[:4] + [round(x, 3) for x in ramp(8, 0.0, 16, 0)], "stable": series(41)}],
    {"canary": [pod(p) for p in cp], "stable": [pod(p) for p in sp]},
    {"canary": [{"pod": p, "lines": streams_pod(i, True)} for i, p in enumerate(cp)], "stable": [{"pod": p, "lines": streams_pod(i, False)} for i, p in enumerate(sp)]},
    {"verdict": "abort", "category": "consumer-lag", "rootCause": ["AvroTypeException", "SerializationException", "discountCode", "StreamsException"]},
    traffic=None, weight=33))

# ---------------------------------------------------------------------------------------
# k08 aiohttp with asyncio.TaskGroup: a failing sub-task surfaces as an ExceptionGroup
# traceback (the `+-+`/`|` framed form Python 3.11+ prints).

def pylog(s, lvl, name, msg):
    return f"{at(s).strftime('%Y-%m-%d %H:%M:%S,%f')[:-3]} {lvl} {name} {msg}"


def aio_access(s, status, size):
    return pylog(s, "INFO", "aiohttp.access", f"{ip()} [{at(s).strftime('%d/%b/%Y:%H:%M:%S +0000')}] \"GET /v1/feed/{r.randint(10000, 99999)} HTTP/1.1\" {status} {size} \"-\" \"okhttp/4.12.0\"")


def aio_pod(bug):
    out = [pylog(-9000 if not bug else -20, "INFO", "feed.app", "feed-api 7.3.0 ready on 0.0.0.0:8080")]
    for s in walk(0, WINDOW, 0.35, 1.3):
        if bug and r.random() < 0.045:
            out += [pylog(s, "ERROR", "aiohttp.server", "Error handling request"),
                    "  + Exception Group Traceback (most recent call last):",
                    "  |   File \"/usr/local/lib/python3.12/site-packages/aiohttp/web_protocol.py\", line 452, in _handle_request",
                    "  |     resp = await request_handler(request)",
                    "  |   File \"/app/feed/handlers.py\", line 57, in get_feed",
                    "  |     async with asyncio.TaskGroup() as tg:",
                    "  |   File \"/usr/local/lib/python3.12/asyncio/taskgroups.py\", line 145, in __aexit__",
                    "  |     raise me from None",
                    "  | ExceptionGroup: unhandled errors in a TaskGroup (1 sub-exception)",
                    "  +-+---------------- 1 ----------------",
                    "    | Traceback (most recent call last):",
                    "    |   File \"/app/feed/sources.py\", line 88, in fetch_ads",
                    "    |     return AdSlot(**payload[\"slot\"])",
                    "    |            ^^^^^^^^^^^^^^^^^^^^^^^^^",
                    "    | TypeError: AdSlot.__init__() got an unexpected keyword argument 'campaign_ref'",
                    "    +------------------------------------",
                    aio_access(s + 0.01, 500, 231)]
            continue
        out.append(aio_access(s, 200, r.randint(900, 4800)))
        if r.random() < 0.004:
            out.append(pylog(s, "WARNING", "feed.sources", f"ads source slow ({r.randint(300, 900)} ms), serving feed without ads"))
    return out


cp = ["feed-api-6d5c4b3a2-b1n2m", "feed-api-6d5c4b3a2-k3l4p"]
sp = ["feed-api-4c3b2a1f9-q5w6e", "feed-api-4c3b2a1f9-r7t8y", "feed-api-4c3b2a1f9-u9i0o"]
cases.append(bundle(
    "k08-feed-aiohttp-exception-group",
    "aiohttp feed service that gathers its sources in an asyncio.TaskGroup: on the canary the ads sub-task raises TypeError (unexpected keyword 'campaign_ref' from a changed payload), printed as an ExceptionGroup traceback, and the request fails 500; about 4.5% of requests against stable's 0.2%.",
    "content", "feed-api", ("ghcr.io/acme/feed-api:7.3.0", "ghcr.io/acme/feed-api:7.2.5"),
    [{"name": "http_requests_success_ratio", "unit": "ratio", "better": "higher", "critical": True, "canary": success(0.045), "stable": success(0.002)},
     {"name": "http_request_duration_p95_s", "unit": "s", "better": "lower", "canary": series(0.12), "stable": series(0.12)}],
    {"canary": [pod(p) for p in cp], "stable": [pod(p) for p in sp]},
    {"canary": [{"pod": p, "lines": aio_pod(True)} for p in cp], "stable": [{"pod": p, "lines": aio_pod(False)} for p in sp]},
    {"verdict": "abort", "category": "error-rate", "rootCause": ["ExceptionGroup", "TypeError", "campaign_ref", "AdSlot"]},
    traffic=(2200, 8900), weight=20))

# ---------------------------------------------------------------------------------------
# k09 Go Fiber + zap: the canary calls a new gRPC recommendations service its pods cannot
# reach (a NetworkPolicy was not updated); every home-page request logs Unavailable or
# DeadlineExceeded and the handler serves a fallback with 200, so HTTP metrics are healthy.

def fiber(s, status, lat, path):
    return f"{at(s).strftime('%H:%M:%S')} | {status} | {lat:>9} | {ip():>15} | GET | {path} | -"


def zap(s, lvl, caller, msg, **kw):
    d = {"level": lvl, "ts": round(at(s).timestamp(), 3), "caller": caller, "msg": msg}
    d.update(kw)
    return json.dumps(d, separators=(",", ":"), ensure_ascii=False)


def fiber_pod(canary):
    out = [zap(-9000 if not canary else -15, "info", "cmd/server/main.go:58", "server starting", addr=":3000", version="2.15.0" if canary else "2.14.3")]
    for s in walk(0, WINDOW, 0.3, 1.0):
        path = r.choice(["/api/home", "/api/home", "/api/product/" + str(r.randint(1000, 9999)), "/api/cart"])
        if canary and path == "/api/home":
            if r.random() < 0.7:
                err = "rpc error: code = Unavailable desc = connection error: desc = \"transport: Error while dialing: dial tcp 10.96.14.22:9090: i/o timeout\""
            else:
                err = "rpc error: code = DeadlineExceeded desc = context deadline exceeded"
            out.append(zap(s, "error", "home/recs.go:61", "recommendations unavailable, serving fallback", error=err, target="recs-v2.ml.svc.cluster.local:9090", user=f"u-{r.randint(10000, 99999)}"))
            out.append(fiber(s + 0.2, 200, f"{r.uniform(180, 260):.2f}ms", path))
            continue
        out.append(fiber(s, 200, f"{r.uniform(2, 40):.2f}ms", path))
        if r.random() < 0.003:
            out.append(zap(s, "warn", "cart/store.go:112", "redis slow", dur=f"{r.randint(200, 600)}ms"))
    return out


cp = ["storefront-api-7e6d5c4b3-w1e2r", "storefront-api-7e6d5c4b3-t3y4u"]
sp = ["storefront-api-6d5c4b3a2-i5o6p", "storefront-api-6d5c4b3a2-a7s8d", "storefront-api-6d5c4b3a2-f9g0h"]
cases.append(bundle(
    "k09-storefront-fiber-grpc-unavailable-fallback",
    "Go Fiber API (Fiber's access log plus zap JSON) whose new version calls a new gRPC recommendations service the canary pods cannot reach (dial i/o timeouts: a NetworkPolicy was not updated). Every home-page request logs an ERROR with gRPC Unavailable or DeadlineExceeded and is served a fallback with 200, so the HTTP error ratio is flat; home latency is bounded by the dial deadline. The release's new feature does not work at all on the canary: a dependency it needs is unreachable.",
    "shop", "storefront-api", ("ghcr.io/acme/storefront-api:2.15.0", "ghcr.io/acme/storefront-api:2.14.3"),
    [{"name": "http_5xx_ratio", "unit": "ratio", "better": "lower", "critical": True, "canary": series(0.0008, spread=0.4), "stable": series(0.0008, spread=0.4)},
     {"name": "http_latency_p50_ms", "unit": "ms", "better": "lower", "canary": series(16), "stable": series(15)}],
    {"canary": [pod(p) for p in cp], "stable": [pod(p) for p in sp]},
    {"canary": [{"pod": p, "lines": fiber_pod(True)} for p in cp], "stable": [{"pod": p, "lines": fiber_pod(False)} for p in sp]},
    {"verdict": "abort", "category": "dependency", "rootCause": ["Unavailable", "recommendations", "DeadlineExceeded", "recs-v2"]},
    traffic=(3600, 14100), weight=20))

# ---------------------------------------------------------------------------------------
# k10 Gin: a lock-order deadlock. At some point each canary pod stops completing requests;
# nothing is logged (the health path is skipped by the logger and does not take the lock,
# so the pods stay ready). The app's own metrics count only completed requests.

def gin(s, status, lat, method, path):
    return f"[GIN] {at(s).strftime('%Y/%m/%d - %H:%M:%S')} | {status} | {lat:>12} | {ip():>15} | {method:<7} \"{path}\""


def gin_pod(stop=None):
    out = []
    out.append(f"{at(-20 if stop else -9000).strftime('%Y/%m/%d %H:%M:%S')} inventory-svc listening on :8080")
    for s in walk(0, stop or WINDOW, 0.25, 0.9):
        m = r.choice(["GET", "GET", "PUT"])
        out.append(gin(s, 200, f"{r.uniform(0.4, 9):.6f}ms", m, f"/v1/stock/{r.randint(10000, 99999)}"))
        if r.random() < 0.002:
            out.append(f"{at(s).strftime('%Y/%m/%d %H:%M:%S')} warn: reservation {r.randint(10**5, 10**6)} expired before commit")
    return out


cp = ["inventory-svc-8b7a6c5d4-g1h2j", "inventory-svc-8b7a6c5d4-k3l4z"]
sp = ["inventory-svc-6a5b4c3d2-x5c6v", "inventory-svc-6a5b4c3d2-b7n8m", "inventory-svc-6a5b4c3d2-q9w0e"]
rps_c = series(28)[:6] + [round(x, 3) for x in [16.0, 2.1, 0.4, 0.3, 0.2, 0.2, 0.1, 0.1, 0.1, 0.1, 0.0, 0.0, 0.0, 0.0]]
cases.append(bundle(
    "k10-inventory-gin-deadlock-throughput-collapse",
    "Gin service with Gin's default request logger. The new version takes two locks in opposite orders on the reservation path; after about 3 minutes each canary pod deadlocks: requests stop completing, nothing is logged (the logger skips /healthz, which takes no lock, so the pods stay ready and are not restarted), goroutines pile up. The app's metrics count only completed requests, so the error ratio and latency series simply end; throughput falls from 28 to 0 requests/s while stable's is steady.",
    "warehouse", "inventory-svc", ("ghcr.io/acme/inventory-svc:1.41.0", "ghcr.io/acme/inventory-svc:1.40.2"),
    [{"name": "http_error_ratio", "unit": "ratio", "better": "lower", "critical": True, "canary": series(0.001, 7, 0.5), "stable": series(0.001, spread=0.5)},
     {"name": "http_request_duration_p99_ms", "unit": "ms", "better": "lower", "canary": series(11, 7), "stable": series(11)},
     {"name": "http_requests_per_second", "unit": "1/s", "better": "higher", "canary": rps_c, "stable": series(28, spread=0.06)},
     {"name": "go_goroutines_max", "unit": "count", "better": "lower", "canary": [float(int(x)) for x in series(45, 6)] + [float(x) for x in (180, 610, 1040, 1490, 1910, 2350, 2790, 3230, 3650, 4100, 4520, 4980, 5400, 5850)], "stable": [float(int(x)) for x in series(45)]}],
    {"canary": [pod(p) for p in cp], "stable": [pod(p) for p in sp]},
    {"canary": [{"pod": cp[0], "lines": gin_pod(184)}, {"pod": cp[1], "lines": gin_pod(221)}], "stable": [{"pod": p, "lines": gin_pod()} for p in sp]},
    {"verdict": "abort", "category": "deadlock", "rootCause": ["requests_per_second", "goroutines", "throughput"]},
    traffic=(2900, 50400), weight=15))

# ---------------------------------------------------------------------------------------
# k11/k12 Django under gunicorn. Stable has been up for days and its workers leak memory:
# workers time out and are killed, requests fail with 502/504. The canary carries the fix.
# k12: the same stable, and a canary that fixes the leak but misses a migration.

def guni(s, lvl, pid, msg):
    return f"[{at(s).strftime('%Y-%m-%d %H:%M:%S +0000')}] [{pid}] [{lvl}] {msg}"


def guni_access(s, status, path):
    return f"{ip()} - - [{at(s).strftime('%d/%b/%Y:%H:%M:%S +0000')}] \"GET {path} HTTP/1.1\" {status} {r.randint(300, 9000) if status == 200 else 145} \"-\" \"Mozilla/5.0 (Linux; Android 14)\""


def django_pod(canary, leak=False, migration=False):
    out = []
    if canary:
        out += [guni(-30, "INFO", 1, "Starting gunicorn 22.0.0"), guni(-30, "INFO", 1, "Listening at: http://0.0.0.0:8000 (1)"),
                guni(-30, "INFO", 1, "Using worker: sync")] + [guni(-29, "INFO", 8 + i, f"Booting worker with pid: {8 + i}") for i in range(4)]
    nxt_kill = r.uniform(30, 80)
    for s in walk(0, WINDOW, 0.4, 1.4):
        path = r.choice(["/api/articles/", f"/api/articles/{r.randint(100, 9999)}/", f"/api/articles/{r.randint(100, 9999)}/", "/api/tags/"])
        if leak and s > nxt_kill:
            pid = r.randint(20, 400)
            out += [guni(s, "CRITICAL", 1, f"WORKER TIMEOUT (pid:{pid})"),
                    guni(s + 0.1, "ERROR", 1, f"Worker (pid:{pid}) was sent SIGKILL! Perhaps out of memory?"),
                    guni(s + 0.3, "INFO", r.randint(400, 900), f"Booting worker with pid: {r.randint(400, 900)}")]
            for _ in range(r.randint(4, 9)):
                out.append(guni_access(s, 502, path))
            nxt_kill = s + r.uniform(25, 70)
            continue
        if migration and path == "/api/articles/" and r.random() < 0.12:
            out += [f"ERROR {at(s).strftime('%Y-%m-%d %H:%M:%S,%f')[:-3]} log Internal Server Error: /api/articles/",
                    "Traceback (most recent call last):",
                    "  File \"/usr/local/lib/python3.12/site-packages/django/db/backends/utils.py\", line 105, in _execute",
                    "    return self.cursor.execute(sql, params)",
                    "           ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^",
                    "psycopg.errors.UndefinedColumn: column articles_article.reading_time does not exist",
                    "LINE 1: ...\"articles_article\".\"published_at\", \"articles_article\".\"reading_t...",
                    "                                                             ^",
                    "",
                    "The above exception was the direct cause of the following exception:",
                    "",
                    "Traceback (most recent call last):",
                    "  File \"/usr/local/lib/python3.12/site-packages/django/core/handlers/exception.py\", line 55, in inner",
                    "    response = get_response(request)",
                    "               ^^^^^^^^^^^^^^^^^^^^^",
                    "  File \"/app/articles/views.py\", line 41, in list",
                    "    return Response(ArticleSerializer(page, many=True).data)",
                    "django.db.utils.ProgrammingError: column articles_article.reading_time does not exist",
                    "LINE 1: ...\"articles_article\".\"published_at\", \"articles_article\".\"reading_t...",
                    "                                                             ^",
                    guni_access(s + 0.01, 500, path)]
            continue
        out.append(guni_access(s, 200, path))
        if r.random() < 0.004:
            out.append(f"WARNING {at(s).strftime('%Y-%m-%d %H:%M:%S,%f')[:-3]} log Not Found: /api/articles/{r.randint(100000, 999999)}/")
    return out


def django_case(name, migration, expected, desc):
    cp = ["articles-7c6b5d4e3-m1n2b", "articles-7c6b5d4e3-v3c4x"]
    sp = ["articles-5b4a3c2d1-z5a6s", "articles-5b4a3c2d1-d7f8g", "articles-5b4a3c2d1-h9j0k"]
    return bundle(
        name, desc, "news", "articles", ("registry.acme.io/news/articles:2026.12.1", "registry.acme.io/news/articles:2026.11.3"),
        [{"name": "http_error_ratio", "unit": "ratio", "better": "lower", "critical": True,
          "canary": series(0.028 if migration else 0.0015, spread=0.25), "stable": series(0.03, spread=0.3)},
         {"name": "http_latency_p99_ms", "unit": "ms", "better": "lower", "canary": series(260), "stable": series(2900, spread=0.3)},
         {"name": "container_memory_working_set_mib_max", "unit": "MiB", "better": "lower", "canary": ramp(610, 640, spread=0.02), "stable": series(1930, spread=0.03)}],
        {"canary": [pod(p) for p in cp], "stable": [pod(p) for p in sp]},
        {"canary": [{"pod": p, "lines": django_pod(True, migration=migration)} for p in cp],
         "stable": [{"pod": p, "lines": django_pod(False, leak=True)} for p in sp]},
        expected, traffic=(2700, 10500), weight=20)


cases.append(django_case(
    "k11-articles-django-gunicorn-stable-leaking-canary-fixed", False, {"verdict": "promote", "category": "benign"},
    "Django under gunicorn. Stable has been running for days and its workers leak memory: WORKER TIMEOUT, workers SIGKILLed, 502s, 3% errors and a 2.9 s p99 on stable only. The canary (the release with the fix, sharing stable's database and network) is healthy in absolute terms: 0.15% errors, 260 ms p99, flat memory, no worker kills. Stable's incident is stable's own, not the environment's, so it does not block a good canary."))
cases.append(django_case(
    "k12-articles-django-stable-leaking-canary-missing-migration", True,
    {"verdict": "abort", "category": "error-rate", "rootCause": ["ProgrammingError", "reading_time", "does not exist", "UndefinedColumn"]},
    "Counter-case: the same leaking stable (3% errors from worker kills), and a canary that fixes the leak but queries a column whose migration was not applied: ProgrammingError / UndefinedColumn on the list endpoint, 2.8% errors, about stable's rate. Being no worse than a broken stable proves nothing; the canary has a new failure of its own."))

# ---------------------------------------------------------------------------------------
# k13 hapi + hapi-pino, with a streaming sidecar added in this release: the app writes its
# log to stdout and to a file, and the sidecar tails the file to its own stdout, so every
# app line appears twice in the canary pod's logs (once per container).

def hpino(s, host, level, msg, **kw):
    d = {"level": level, "time": int(at(s).timestamp() * 1000), "pid": 1, "hostname": host}
    d.update(kw)
    d["msg"] = msg
    return json.dumps(d, separators=(",", ":"), ensure_ascii=False)


def hapi_lines(host, canary):
    out = [hpino(-30 if canary else -9000, host, 30, "server started", created=int(at(-30).timestamp() * 1000), uri="http://0.0.0.0:3000")]
    for s in walk(0, WINDOW, 0.3, 1.1):
        rid = f"{int(at(s).timestamp() * 1000)}:{host}:1:{r.randint(10**6, 10**7):x}:{r.randint(1, 9999)}"
        path = r.choice(["/v1/accounts/me", "/v1/accounts/me/settings", "/v1/accounts/me/devices"])
        if r.random() < 0.004:
            out.append(hpino(s, host, 50, "request error", req={"id": rid, "method": "get", "url": path}, err={"type": "Error", "message": "upstream profile-store responded 503", "stack": "Error: upstream profile-store responded 503\n    at ProfileStore.get (/app/lib/store.js:61:13)"}))
            out.append(hpino(s, host, 30, "request completed", req={"id": rid, "method": "get", "url": path}, res={"statusCode": 503}, responseTime=r.randint(20, 60)))
            continue
        if r.random() < 0.006:
            out.append(hpino(s, host, 40, "request closed early", req={"id": rid, "method": "get", "url": path}, err={"type": "Error", "message": "aborted", "code": "ECONNRESET"}))
            continue
        out.append(hpino(s, host, 30, "request completed", req={"id": rid, "method": "get", "url": path}, res={"statusCode": 200}, responseTime=r.randint(2, 45)))
    return out


cp = ["accounts-6c5b4a3d2-r1t2y"]
sp = ["accounts-5b4a3c2d1-u3i4o", "accounts-5b4a3c2d1-p5a6s", "accounts-5b4a3c2d1-d7f8g"]
canary_lines = hapi_lines(cp[0], True)
cases.append(bundle(
    "k13-accounts-hapi-pino-sidecar-duplicates-lines",
    "hapi with hapi-pino. The release adds a streaming sidecar (the app also writes its log to a file; the sidecar tails it to its own stdout), so every canary log line appears twice, once per container (`container` field). Stable logs once. The same rare 503-from-upstream errors and client ECONNRESET warnings at stable's per-request rate; metrics equal.",
    "identity", "accounts", ("ghcr.io/acme/accounts:9.2.0", "ghcr.io/acme/accounts:9.1.7"),
    [{"name": "http_error_ratio", "unit": "ratio", "better": "lower", "critical": True, "canary": series(0.004, spread=0.3), "stable": series(0.004, spread=0.3)},
     {"name": "http_latency_p95_ms", "unit": "ms", "better": "lower", "canary": series(40), "stable": series(40)}],
    {"canary": [pod(p) for p in cp], "stable": [pod(p) for p in sp]},
    {"canary": [{"pod": cp[0], "container": "accounts", "lines": canary_lines}, {"pod": cp[0], "container": "log-tailer", "lines": list(canary_lines)}],
     "stable": [{"pod": p, "lines": hapi_lines(p, False)} for p in sp]},
    {"verdict": "promote", "category": "benign"},
    traffic=(800, 2400), weight=25))

# ---------------------------------------------------------------------------------------
# k14 Kong gateway 3.7 -> 3.8: the rate-limiting plugin's existing warning is reworded
# ("failed to get usage" -> "failed to get usage from redis"), a new notice at start-up.

def kong_err(s, lvl, msg):
    return f"{at(s).strftime('%Y/%m/%d %H:%M:%S')} [{lvl}] 1288#0: *{r.randint(10000, 999999)} {msg}"


def kong_pod(new):
    out = []
    if new:
        out += [kong_err(-20, "notice", "[kong] init.lua:793 declarative config loaded from /kong_dbless/kong.yml, context: init_worker_by_lua*"),
                kong_err(-20, "notice", "[kong] init.lua:618 [clustering] dataplane connected to control plane with protocol v2, context: ngx.timer")]
    for s in walk(0, WINDOW, 0.2, 0.8):
        path = r.choice(["/orders/" + str(r.randint(10000, 99999)), "/orders", "/payments/" + str(r.randint(10000, 99999))])
        out.append(f"{ip()} - - [{at(s).strftime('%d/%b/%Y:%H:%M:%S +0000')}] \"GET {path} HTTP/1.1\" 200 {r.randint(200, 4000)} \"-\" \"okhttp/4.12.0\" kong_request_id: \"{hexid(32)}\"")
        if r.random() < 0.01:
            what = "failed to get usage from redis: timeout" if new else "failed to get usage: timeout"
            out.append(kong_err(s, "warn", f"[kong] handler.lua:117 [rate-limiting] {what}, client: {ip()}, server: kong, request: \"GET {path} HTTP/1.1\", host: \"api.acme.io\", request_id: \"{hexid(32)}\""))
        if r.random() < 0.002:
            out.append(kong_err(s, "error", f"upstream timed out (110: Connection timed out) while reading response header from upstream, client: {ip()}, server: kong, request: \"GET {path} HTTP/1.1\", upstream: \"http://10.7.{r.randint(0, 9)}.{r.randint(2, 250)}:8080{path}\", host: \"api.acme.io\""))
    return out


cp = ["kong-gateway-7d6c5b4a3-h1j2k", "kong-gateway-7d6c5b4a3-l3z4x"]
sp = ["kong-gateway-5c4b3a2d1-c5v6b", "kong-gateway-5c4b3a2d1-n7m8q", "kong-gateway-5c4b3a2d1-w9e0r"]
cases.append(bundle(
    "k14-kong-gateway-minor-upgrade-rewords-warning",
    "Kong data plane upgraded from 3.7.1 to 3.8.0: its rate-limiting plugin's existing occasional warning is reworded (`failed to get usage: timeout` becomes `failed to get usage from redis: timeout`) at the same rate, two new start-up notices; the same rare upstream timeouts as stable; 5xx ratio and proxy latency equal.",
    "edge", "kong-gateway", ("kong/kong-gateway:3.8.0.0", "kong/kong-gateway:3.7.1.2"),
    [{"name": "kong_http_5xx_ratio", "unit": "ratio", "better": "lower", "critical": True, "canary": series(0.002, spread=0.3), "stable": series(0.002, spread=0.3)},
     {"name": "kong_kong_latency_p99_ms", "unit": "ms", "better": "lower", "canary": series(6), "stable": series(6)},
     {"name": "kong_upstream_latency_p99_ms", "unit": "ms", "better": "lower", "canary": series(140), "stable": series(140)}],
    {"canary": [pod(p) for p in cp], "stable": [pod(p) for p in sp]},
    {"canary": [{"pod": p, "lines": kong_pod(True)} for p in cp], "stable": [{"pod": p, "lines": kong_pod(False)} for p in sp]},
    {"verdict": "promote", "category": "benign"},
    traffic=(6500, 19800), weight=25))

# ---------------------------------------------------------------------------------------
# k15 gorilla/mux + logrus: `fatal error: concurrent map writes` (a Go runtime fatal error,
# not a panic: no recover) with the full goroutine dump; the container exits 2 and restarts.

def logrus(s, lvl, msg, **kw):
    tail = " ".join(f"{k}={v}" for k, v in kw.items())
    return f"time=\"{at(s).strftime('%Y-%m-%dT%H:%M:%SZ')}\" level={lvl} msg=\"{msg}\" {tail}".rstrip()


def go_fatal(gid):
    return ["fatal error: concurrent map writes",
            "",
            f"goroutine {gid} [running]:",
            "github.com/acme/rates/internal/cache.(*Cache).Put(...)",
            "\t/src/internal/cache/cache.go:47",
            "github.com/acme/rates/internal/api.(*Handler).Quote(0xc0001a2000, {0x9c1e40, 0xc000512380}, 0xc0004b6000)",
            "\t/src/internal/api/quote.go:93 +0x2f4",
            "net/http.HandlerFunc.ServeHTTP(0xc0000b8120?, {0x9c1e40?, 0xc000512380?}, 0x0?)",
            "\t/usr/local/go/src/net/http/server.go:2220 +0x29",
            "github.com/gorilla/mux.(*Router).ServeHTTP(0xc0000f6000, {0x9c1e40, 0xc000512380}, 0xc0004b5e00)",
            "\t/go/pkg/mod/github.com/gorilla/mux@v1.8.1/mux.go:212 +0x1e2",
            "net/http.serverHandler.ServeHTTP({0xc0002b0f30?}, {0x9c1e40?, 0xc000512380?}, 0x6?)",
            "\t/usr/local/go/src/net/http/server.go:3210 +0x8e",
            "net/http.(*conn).serve(0xc00031c000, {0x9c2a58, 0xc0002b0e40})",
            "\t/usr/local/go/src/net/http/server.go:2092 +0x5d0",
            "created by net/http.(*Server).Serve in goroutine 1",
            "\t/usr/local/go/src/net/http/server.go:3360 +0x485",
            "",
            "goroutine 1 [IO wait]:",
            "internal/poll.runtime_pollWait(0x7f3c2d1e8e28, 0x72)",
            "\t/usr/local/go/src/runtime/netpoll.go:351 +0x85",
            "internal/poll.(*pollDesc).wait(0xc0000f2080?, 0x0?, 0x0)",
            "\t/usr/local/go/src/internal/poll/fd_poll_runtime.go:84 +0x27",
            "net.(*netFD).accept(0xc0000f2080)",
            "\t/usr/local/go/src/net/fd_unix.go:172 +0x29",
            "net/http.(*Server).Serve(0xc0000fe000, {0x9c21b0, 0xc0000a4040})",
            "\t/usr/local/go/src/net/http/server.go:3330 +0x30c",
            "main.main()",
            "\t/src/cmd/rates/main.go:61 +0x4a5",
            "",
            f"goroutine {gid + 3} [runnable]:",
            "github.com/acme/rates/internal/cache.(*Cache).Put(...)",
            "\t/src/internal/cache/cache.go:47",
            "github.com/acme/rates/internal/api.(*Handler).Quote(0xc0001a2000, {0x9c1e40, 0xc0005a0000}, 0xc0005b2000)",
            "\t/src/internal/api/quote.go:93 +0x2f4",
            "created by net/http.(*Server).Serve in goroutine 1",
            "\t/usr/local/go/src/net/http/server.go:3360 +0x485"]


def rates_pod(crash):
    out = []
    starts = [0, 120, 290, 455] if crash else [-9000]
    for i, st in enumerate(starts):
        end = starts[i + 1] - 11 if crash and i + 1 < len(starts) else WINDOW
        out.append(logrus(max(st, -9000), "info", "rates-api starting", version="3.3.0" if crash else "3.2.4", addr=":8080"))
        for s in walk(max(st + 0.5, 0), end, 0.15, 0.6):
            out.append(logrus(s, "info", "request", method="GET", path=f"/v1/rates/{r.choice(['EUR', 'USD', 'GBP', 'CHF'])}", status=200, dur=f"{r.uniform(0.5, 9):.1f}ms"))
            if r.random() < 0.002:
                out.append(logrus(s, "warning", "upstream ecb feed stale, serving cached rates", age="94s"))
        if crash and i + 1 < len(starts):
            out += go_fatal(r.randint(3000, 90000))
    return out


cp = ["rates-api-7b6a5c4d3-s1d2f", "rates-api-7b6a5c4d3-g3h4j", "rates-api-7b6a5c4d3-k5l6z"]
sp = [f"rates-api-5a4b3c2d1-{x}" for x in ("x7c8v", "b9n0m", "q1w2e", "r3t4y", "u5i6o", "p7a8s")]
cases.append(bundle(
    "k15-rates-gorilla-logrus-concurrent-map-writes",
    "Go rates API (gorilla/mux, logrus text) at high traffic: the new in-process cache writes a map from concurrent handlers, and under load the Go runtime stops the process with `fatal error: concurrent map writes` and a goroutine dump (exit 2, no panic, nothing to recover). Each canary pod restarted three times (CrashLoopBackOff); 1.5% errors against 0.1%.",
    "fx", "rates-api", ("ghcr.io/acme/rates-api:3.3.0", "ghcr.io/acme/rates-api:3.2.4"),
    [{"name": "http_error_ratio", "unit": "ratio", "better": "lower", "critical": True, "canary": series(0.015, spread=0.5), "stable": series(0.001, spread=0.3)},
     {"name": "http_duration_p99_ms", "unit": "ms", "better": "lower", "canary": series(12), "stable": series(11)}],
    {"canary": [pod(p, True, 3, "Error") for p in cp], "stable": [pod(p) for p in sp]},
    {"canary": [{"pod": p, "lines": rates_pod(True)} for p in cp], "stable": [{"pod": p, "lines": rates_pod(False)} for p in sp]},
    {"verdict": "abort", "category": "crashloop", "rootCause": ["concurrent map writes", "fatal error", "cache.go"]},
    events=[ev(f"Pod/{p}", "Warning", "BackOff", f"Back-off restarting failed container rates-api in pod {p}_fx", 2) for p in cp],
    traffic=(9800, 39500), weight=20))

# ---------------------------------------------------------------------------------------
# k16 Vert.x (logback): the new version ships its own truststore pinning the payment
# provider's old intermediate, which has expired: every charge fails the TLS handshake.

def vx(s, lvl, thread, logger, msg):
    return f"{at(s).strftime('%Y-%m-%d %H:%M:%S,%f')[:-3]} {lvl:<5} [{thread}] {logger} - {msg}"


def vertx_pod(canary):
    out = [vx(-25 if canary else -9000, "INFO", "vert.x-eventloop-thread-0", "c.a.payments.MainVerticle", "HTTP server started on port 8080")]
    for s in walk(0, WINDOW, 0.3, 1.2):
        th = f"vert.x-eventloop-thread-{r.randint(0, 3)}"
        if r.random() < 0.35:
            cid = r.randint(10**5, 10**6)
            if canary:
                out += [vx(s, "ERROR", th, "c.a.payments.PspClient", f"charge {cid} failed"),
                        "javax.net.ssl.SSLHandshakeException: PKIX path validation failed: java.security.cert.CertPathValidatorException: validity check failed",
                        "\tat java.base/sun.security.ssl.Alert.createSSLException(Alert.java:130)",
                        "\tat java.base/sun.security.ssl.TransportContext.fatal(TransportContext.java:378)",
                        "\tat java.base/sun.security.ssl.CertificateMessage$T13CertificateConsumer.checkServerCerts(CertificateMessage.java:1310)",
                        "\tat io.netty.handler.ssl.SslHandler.unwrap(SslHandler.java:1407)",
                        "\tat io.vertx.core.net.impl.NetClientImpl.connectInternal(NetClientImpl.java:259)",
                        "Caused by: sun.security.validator.ValidatorException: PKIX path validation failed: java.security.cert.CertPathValidatorException: validity check failed",
                        "\tat java.base/sun.security.validator.PKIXValidator.doValidate(PKIXValidator.java:369)",
                        "\t... 31 more",
                        "Caused by: java.security.cert.CertPathValidatorException: validity check failed",
                        "\tat java.base/sun.security.provider.certpath.PKIXMasterCertPathValidator.validate(PKIXMasterCertPathValidator.java:135)",
                        "\t... 36 more",
                        "Caused by: java.security.cert.CertificateExpiredException: NotAfter: Sat Dec 05 23:59:59 UTC 2026",
                        "\tat java.base/sun.security.x509.CertificateValidity.valid(CertificateValidity.java:277)",
                        "\t... 40 more",
                        vx(s + 0.01, "INFO", th, "c.a.payments.Routes", f"POST /v2/charges 502 {r.randint(8, 30)}ms")]
                continue
            out.append(vx(s, "INFO", th, "c.a.payments.Routes", f"POST /v2/charges 201 {r.randint(120, 400)}ms"))
            continue
        out.append(vx(s, "INFO", th, "c.a.payments.Routes", f"GET /v2/charges/{r.randint(10**5, 10**6)} 200 {r.randint(3, 30)}ms"))
        if r.random() < 0.004:
            out.append(vx(s, "WARN", "vert.x-internal-blocking-0", "io.vertx.core.impl.BlockedThreadChecker", f"Thread Thread[vert.x-eventloop-thread-{r.randint(0, 3)},5,main] has been blocked for {r.randint(2001, 2600)} ms, time limit is 2000 ms"))
    return out


cp = ["payments-8d7c6b5a4-e1r2t"]
sp = ["payments-6c5b4a3d2-y3u4i", "payments-6c5b4a3d2-o5p6a", "payments-6c5b4a3d2-s7d8f"]
cases.append(bundle(
    "k16-payments-vertx-pinned-cert-expired",
    "Vert.x payments service (logback): the new version ships its own truststore pinning the payment provider's previous intermediate certificate, which expired two days ago; every charge fails the TLS handshake (SSLHandshakeException, Caused by CertPathValidatorException, Caused by CertificateExpiredException) and is answered 502. Charges are about a third of requests: success ratio 65% against 99.8%.",
    "payments", "payments", ("ghcr.io/acme/payments:6.0.0", "ghcr.io/acme/payments:5.9.3"),
    [{"name": "http_success_ratio", "unit": "ratio", "better": "higher", "critical": True, "canary": success(0.35, spread=0.08), "stable": success(0.002)},
     {"name": "http_latency_p95_ms", "unit": "ms", "better": "lower", "canary": series(90), "stable": series(310)}],
    {"canary": [pod(p) for p in cp], "stable": [pod(p) for p in sp]},
    {"canary": [{"pod": p, "lines": vertx_pod(True)} for p in cp], "stable": [{"pod": p, "lines": vertx_pod(False)} for p in sp]},
    {"verdict": "abort", "category": "dependency", "rootCause": ["CertificateExpiredException", "SSLHandshakeException", "PKIX", "certificate"]},
    traffic=(1300, 5200), weight=20))

# ---------------------------------------------------------------------------------------
# k17 Tomcat (Spring MVC war) with a German locale: java.util.logging's level names are
# localized (INFORMATION, WARNUNG, SCHWERWIEGEND) and so are Tomcat's own messages.

MON_DE = {12: "Dez."}


def tc(s, lvl, thread, src, msg):
    a = at(s)
    return f"{a.day:02d}-{MON_DE[a.month]}-{a.year} {a.strftime('%H:%M:%S.%f')[:-3]} {lvl} [{thread}] {src} {msg}"


def tomcat_pod(bug):
    out = [tc(-40 if bug else -9000, "INFORMATION", "main", "org.apache.catalina.startup.Catalina.start", "Server-Initialisierung in [4213] Millisekunden")]
    for s in walk(0, WINDOW, 0.35, 1.3):
        th = f"http-nio-8080-exec-{r.randint(1, 20)}"
        path = r.choice(["/shop/api/cart", "/shop/api/cart", "/shop/api/cart/summary", "/shop/api/products/" + str(r.randint(100, 9999))])
        if bug and path == "/shop/api/cart/summary" and r.random() < 0.12:
            out += [tc(s, "SCHWERWIEGEND", th, "org.apache.catalina.core.StandardWrapperValve.invoke", "Servlet.service() für Servlet [dispatcherServlet] in Kontext mit Pfad [/shop] hat eine Ausnahme ausgelöst [Request processing failed: java.lang.ArithmeticException: / by zero] mit Ursache"),
                    "\tjava.lang.ArithmeticException: / by zero",
                    "\t\tat com.acme.shop.cart.Totals.averageItemPrice(Totals.java:57)",
                    "\t\tat com.acme.shop.cart.CartSummaryController.summary(CartSummaryController.java:34)",
                    "\t\tat java.base/jdk.internal.reflect.DirectMethodHandleAccessor.invoke(DirectMethodHandleAccessor.java:103)",
                    "\t\tat org.springframework.web.method.support.InvocableHandlerMethod.doInvoke(InvocableHandlerMethod.java:255)",
                    "\t\tat org.springframework.web.servlet.FrameworkServlet.service(FrameworkServlet.java:885)",
                    "\t\tat org.apache.catalina.core.StandardWrapperValve.invoke(StandardWrapperValve.java:165)"]
            out.append(f"{ip()} - - [{at(s).strftime('%d/%b/%Y:%H:%M:%S +0000')}] \"GET {path} HTTP/1.1\" 500 455")
            continue
        out.append(f"{ip()} - - [{at(s).strftime('%d/%b/%Y:%H:%M:%S +0000')}] \"GET {path} HTTP/1.1\" 200 {r.randint(300, 5000)}")
        if r.random() < 0.003:
            out.append(tc(s, "WARNUNG", th, "org.apache.catalina.loader.WebappClassLoaderBase.clearReferencesThreads", "Die Webanwendung [shop] scheint einen Thread namens [pool-2-thread-1] gestartet zu haben, diesen jedoch nicht beendet zu haben."))
    return out


cp = ["shop-web-6b5a4c3d2-g9h8j", "shop-web-6b5a4c3d2-k7l6z"]
sp = ["shop-web-5a4b3c2d1-x5c4v", "shop-web-5a4b3c2d1-b3n2m", "shop-web-5a4b3c2d1-q1w0e"]
cases.append(bundle(
    "k17-shop-web-tomcat-german-locale-arithmetic",
    "Spring MVC war on Tomcat 10 with a German locale: java.util.logging's levels print as INFORMATION/WARNUNG/SCHWERWIEGEND and Tomcat's messages are in German. The canary's cart summary divides by the item count, which is zero for empty carts: SCHWERWIEGEND `Servlet.service() ... hat eine Ausnahme ausgelöst` with java.lang.ArithmeticException: / by zero, answered 500; error ratio 2.8% against 0.1%.",
    "shop", "shop-web", ("registry.acme.de/shop-web:24.12.0", "registry.acme.de/shop-web:24.11.2"),
    [{"name": "tomcat_error_ratio", "unit": "ratio", "better": "lower", "critical": True, "canary": series(0.028, spread=0.2), "stable": series(0.001, spread=0.4)},
     {"name": "tomcat_request_p95_ms", "unit": "ms", "better": "lower", "canary": series(55), "stable": series(54)}],
    {"canary": [pod(p) for p in cp], "stable": [pod(p) for p in sp]},
    {"canary": [{"pod": p, "lines": tomcat_pod(True)} for p in cp], "stable": [{"pod": p, "lines": tomcat_pod(False)} for p in sp]},
    {"verdict": "abort", "category": "error-rate", "rootCause": ["ArithmeticException", "by zero", "Totals"]},
    traffic=(2400, 9400), weight=20))

# ---------------------------------------------------------------------------------------
# k18 Bun: the new version logs new INFO and DEBUG lines in Japanese (catalogue reloads,
# locale applied, cache hit ratio); both versions share a Japanese WARN about a slow
# upstream.

def bun(s, lvl, ctx, msg):
    return f"{iso(s)} {lvl:<5} [{ctx}] {msg}"


def bun_pod(canary):
    out = [bun(-20 if canary else -9000, "INFO", "server", "Started server http://0.0.0.0:3000 (bun 1.1.38)")]
    nxt = 60
    for s in walk(0, WINDOW, 0.3, 1.1):
        out.append(bun(s, "INFO", "http", f"GET /v1/items/{r.randint(10000, 99999)} 200 {r.uniform(1, 20):.1f}ms"))
        if canary and r.random() < 0.3:
            out.append(bun(s, "INFO", "i18n", f"ロケール {r.choice(['ja-JP', 'ja-JP', 'en-US'])} を適用しました"))
        if canary and r.random() < 0.2:
            out.append(bun(s, "DEBUG", "cache", f"キャッシュヒット率 0.{r.randint(85, 97)}"))
        if r.random() < 0.008:
            out.append(bun(s, "WARN", "upstream", f"在庫APIの応答が遅延しています ({r.randint(800, 2000)}ms)"))
        if canary and s > nxt:
            out.append(bun(s, "INFO", "catalog", f"商品カタログを再読み込みしました (件数: {r.randint(18000, 18500)}, 所要時間: {r.randint(300, 600)}ms)"))
            nxt += 60
    return out


cp = ["catalog-bun-7a6b5c4d3-m9n8b"]
sp = ["catalog-bun-5c4d3e2f1-v7c6x", "catalog-bun-5c4d3e2f1-z5a4s", "catalog-bun-5c4d3e2f1-d3f2g"]
cases.append(bundle(
    "k18-catalog-bun-japanese-new-info-lines",
    "Bun catalogue service with a plain-text logger and Japanese messages: the new version logs new INFO lines (locale applied per request, a catalogue reload every minute) and DEBUG cache-hit lines; both versions log the same Japanese WARN about a slow inventory API at the same rate; metrics equal.",
    "shop-jp", "catalog-bun", ("ghcr.io/acme/catalog-bun:1.8.0", "ghcr.io/acme/catalog-bun:1.7.5"),
    [{"name": "http_error_ratio", "unit": "ratio", "better": "lower", "critical": True, "canary": series(0.001, spread=0.3), "stable": series(0.001, spread=0.3)},
     {"name": "http_latency_p95_ms", "unit": "ms", "better": "lower", "canary": series(19), "stable": series(19)}],
    {"canary": [pod(p) for p in cp], "stable": [pod(p) for p in sp]},
    {"canary": [{"pod": p, "lines": bun_pod(True)} for p in cp], "stable": [{"pod": p, "lines": bun_pod(False)} for p in sp]},
    {"verdict": "promote", "category": "benign"},
    traffic=(900, 8100), weight=10))

# ---------------------------------------------------------------------------------------
# k19 Swift Vapor: CoreDNS is overloaded for the whole window, so both versions fail ~9% of
# their calls to the accounts service on name resolution. The canary is no worse, but
# nothing can be said about it while the environment fails.

def vapor(s, lvl, rid, msg):
    return f"{at(s).strftime('%Y-%m-%dT%H:%M:%S')}+0000 {lvl} codes.vapor.application : request-id={rid} [App] {msg}"


def vapor_pod(canary):
    out = [f"{at(-20 if canary else -9000).strftime('%Y-%m-%dT%H:%M:%S')}+0000 notice codes.vapor.application : [Vapor] Server starting on http://0.0.0.0:8080"]
    for s in walk(0, WINDOW, 0.35, 1.3):
        rid = f"{hexid(8)}-{hexid(4)}-{hexid(4)}-{hexid(4)}-{hexid(12)}".upper()
        path = f"/v1/profile/{r.randint(10000, 99999)}"
        out.append(f"{at(s).strftime('%Y-%m-%dT%H:%M:%S')}+0000 info codes.vapor.application : request-id={rid} [Vapor] GET {path}")
        if r.random() < 0.09:
            out.append(vapor(s + 0.05, "error", rid, "accounts lookup failed: NIOConnectionError(host: \"accounts.identity.svc.cluster.local\", port: 8080, dnsAError: Optional(NIOPosix.SocketAddressError.unknown(host: \"accounts.identity.svc.cluster.local\", port: 8080)), dnsAAAAError: Optional(NIOPosix.SocketAddressError.unknown(host: \"accounts.identity.svc.cluster.local\", port: 8080)), connectionErrors: [])"))
            out.append(f"{at(s + 0.05).strftime('%Y-%m-%dT%H:%M:%S')}+0000 warning codes.vapor.application : request-id={rid} [Vapor] Abort.502: Bad Gateway")
    return out


cp = ["profile-vapor-6e5d4c3b2-a1s2d"]
sp = ["profile-vapor-5d4c3b2a1-f3g4h", "profile-vapor-5d4c3b2a1-j5k6l", "profile-vapor-5d4c3b2a1-z7x8c"]
cases.append(bundle(
    "k19-profile-vapor-dns-outage-both-versions",
    "Swift Vapor profile service: CoreDNS is overloaded for the whole window, so both versions fail about 9% of requests resolving the accounts service (NIOConnectionError with dnsAError/dnsAAAAError, 502). Success ratio 91% on both, better higher. The canary is no worse, but the environment is failing and the canary cannot be judged healthy.",
    "identity", "profile-vapor", ("ghcr.io/acme/profile-vapor:4.4.0", "ghcr.io/acme/profile-vapor:4.3.1"),
    [{"name": "http_success_ratio", "unit": "ratio", "better": "higher", "critical": True, "canary": success(0.09, spread=0.2), "stable": success(0.09, spread=0.2)},
     {"name": "http_latency_p95_ms", "unit": "ms", "better": "lower", "canary": series(60), "stable": series(60)}],
    {"canary": [pod(p) for p in cp], "stable": [pod(p) for p in sp]},
    {"canary": [{"pod": p, "lines": vapor_pod(True)} for p in cp], "stable": [{"pod": p, "lines": vapor_pod(False)} for p in sp]},
    {"verdict": "inconclusive", "category": "environment", "rootCause": ["dnsAError", "accounts", "DNS", "both"]},
    traffic=(1050, 9300), weight=10))

# ---------------------------------------------------------------------------------------
# k20 Koa + bunyan at high traffic: a new RangeError on some facet queries, ~0.55% of
# requests; the error ratio rises from 0.3% to 0.85%, inside a +1 point tolerance but
# with 60,000 canary requests far beyond noise. Logs are the gatherer's tail per pod.

def bunyan(s, host, level, msg, **kw):
    d = {"name": "search-api", "hostname": host, "pid": 1, "level": level}
    d.update(kw)
    d.update({"msg": msg, "time": iso(s), "v": 0})
    return json.dumps(d, separators=(",", ":"), ensure_ascii=False)


def koa_pod(host, bug, start):
    out = []
    for s in walk(start, WINDOW, 0.08, 0.25):
        rid = f"{hexid(8)}-{hexid(4)}-4{hexid(3)}-{hexid(4)}-{hexid(12)}"
        x = r.random()
        if bug and x < 0.0055:
            out.append(bunyan(s, host, 50, "unhandled error in request", req_id=rid, err={"message": "Invalid time value", "name": "RangeError",
                                                                                           "stack": "RangeError: Invalid time value\n    at Date.toISOString (<anonymous>)\n    at toFacetRange (/app/src/facets.js:88:41)\n    at Array.map (<anonymous>)\n    at buildFacets (/app/src/facets.js:61:24)\n    at search (/app/src/routes/search.js:33:19)"}))
            out.append(bunyan(s, host, 30, "request finished", req_id=rid, method="GET", url="/v1/search", status=500, ms=r.randint(3, 20)))
            continue
        if x > 0.997:
            out.append(bunyan(s, host, 40, "elasticsearch request timed out, retrying", req_id=rid, attempt=1, timeout_ms=800))
            out.append(bunyan(s, host, 30, "request finished", req_id=rid, method="GET", url="/v1/search", status=504, ms=r.randint(1600, 1700)))
            continue
        out.append(bunyan(s, host, 30, "request finished", req_id=rid, method="GET", url="/v1/search", status=200, ms=r.randint(8, 120)))
    return out


cp = ["search-api-7f6e5d4c3-a1b2c", "search-api-7f6e5d4c3-d3e4f", "search-api-7f6e5d4c3-g5h6j"]
sp = [f"search-api-5d4c3b2a1-{x}" for x in ("k7l8z", "x9c0v", "b1n2m", "q3w4e", "r5t6y", "u7i8o", "p9a0s", "d1f2g")]
cases.append(bundle(
    "k20-search-koa-bunyan-small-error-rise-high-traffic",
    "Koa search API logging with bunyan JSON, at high traffic (60,000 canary requests in the window; logs are the gatherer's last lines per pod). The new version throws RangeError: Invalid time value building date facets for some queries, on about 0.55% of requests: the error ratio goes from 0.3% (shared Elasticsearch timeouts) to 0.85%. That is inside a +1 point tolerance, but at this traffic it is a new failure of the release, far beyond noise.",
    "search", "search-api", ("ghcr.io/acme/search-api:12.4.0", "ghcr.io/acme/search-api:12.3.6"),
    [{"name": "http_error_ratio", "unit": "ratio", "better": "lower", "critical": True, "canary": series(0.0085, spread=0.12), "stable": series(0.003, spread=0.12)},
     {"name": "http_latency_p95_ms", "unit": "ms", "better": "lower", "canary": series(110), "stable": series(110)}],
    {"canary": [pod(p) for p in cp], "stable": [pod(p) for p in sp]},
    {"canary": [{"pod": p, "lines": koa_pod(p, True, WINDOW - 300)} for p in cp], "stable": [{"pod": p, "lines": koa_pod(p, False, WINDOW - 300)} for p in sp[:3]]},
    {"verdict": "abort", "category": "error-rate", "rootCause": ["RangeError", "Invalid time value", "toFacetRange"]},
    traffic=(60200, 241000), weight=20))


out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tune", "stacks")
os.makedirs(out, exist_ok=True)
for b in cases:
    with open(os.path.join(out, b["name"] + ".json"), "w") as f:
        json.dump(b, f, indent=1, ensure_ascii=False)
        f.write("\n")
print(f"wrote {len(cases)} scenarios to {os.path.normpath(out)}")
