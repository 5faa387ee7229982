#!/usr/bin/env python3
"""Generate rollwise's out-of-sample holdout scenarios (evidence bundle v1).

    python3 evals/scenarios/gen/holdout.py --out evals/scenarios/holdout

Standard library only, one fixed seed per scenario, byte-for-byte reproducible.
It reuses the request simulator of generate.py (Scn: requests simulated one by
one per pod, metrics computed from the same requests the logs show) but every
stack and failure mode here is new: no judging rule was written with them in
view. Labels are what a careful SRE would decide from the evidence; the
reasoning is in each scenario's description.
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from generate import (Scn, counts_section, E, P, X, check, hexs, ip, logn, rstr, uid, wpick,  # noqa: E402
                      iso_ms, iso_us, clf)

HOLDOUT = []


def holdout(fn):
    HOLDOUT.append(fn)
    return fn


# ---------------------------------------------------------------- stacks
# Each stack: log(d, lvl, logger, msg) -> [lines]; access(r, d, m, path, st, ms) -> line or None;
# trace(kind) -> continuation lines of a multi-line exception.
LV = {"DEBUG": "debug", "INFO": "info", "WARN": "warn", "ERROR": "error"}


def logback(app):
    def log(d, lvl, logger, msg, th=None):
        th = th or ("main" if logger.endswith("Application") or "Delegate" in logger else "reactor-http-nio-3")
        return ["%s %5s 1 --- [%s] [%15.15s] %-40.40s : %s" % (iso_ms(d), lvl, app, th, logger, msg)]
    return log


def micronaut_log(d, lvl, logger, msg):
    return ["%s [default-nioEventLoopGroup-1-%d] %-5s %s - %s" % (d.strftime("%H:%M:%S.") + "%03d" % (d.microsecond // 1000),
                                                                 d.second % 4 + 1, lvl, logger, msg)]


def zerolog(d, lvl, logger, msg, **kw):
    o = {"level": LV[lvl], "time": d.strftime("%Y-%m-%dT%H:%M:%SZ"), "component": logger}
    o.update(kw)
    o["message"] = msg
    return [json.dumps(o, separators=(",", ":"))]


def gunicorn(d, lvl, logger, msg):
    if logger == "gunicorn":
        return ["[%s] [7] [%s] %s" % (d.strftime("%Y-%m-%d %H:%M:%S +0000"), lvl.replace("WARN", "WARNING"), msg)]
    return ["%s %s %s: %s" % (d.strftime("%Y-%m-%d %H:%M:%S,") + "%03d" % (d.microsecond // 1000),
                              lvl.replace("WARN", "WARNING"), logger, msg)]


def winston(d, lvl, logger, msg, **kw):
    o = {"level": LV[lvl], "message": msg, "service": logger}
    o.update(kw)
    o["timestamp"] = iso_ms(d)
    return [json.dumps(o, separators=(",", ":"))]


def tracing_json(d, lvl, logger, msg, **kw):
    f = {"message": msg}
    f.update(kw)
    return [json.dumps({"timestamp": iso_us(d), "level": lvl.replace("WARN", "WARN"), "fields": f,
                        "target": logger, "threadId": "ThreadId(%d)" % (d.microsecond % 7 + 2)},
                       separators=(",", ":"))]


def dotnet_json(d, lvl, logger, msg, eid=0):
    m = {"DEBUG": "Debug", "INFO": "Information", "WARN": "Warning", "ERROR": "Error"}[lvl]
    return [json.dumps({"Timestamp": d.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (d.microsecond // 1000),
                        "EventId": eid, "LogLevel": m, "Category": logger, "Message": msg, "State": {"Message": msg}},
                       separators=(",", ":"))]


def monolog(d, lvl, logger, msg, ctx="{}"):
    lv = {"DEBUG": "DEBUG", "INFO": "INFO", "WARN": "WARNING", "ERROR": "ERROR"}[lvl]
    return ["[%s+00:00] %s.%s: %s %s []" % (d.strftime("%Y-%m-%dT%H:%M:%S.%f"), logger, lv, msg, ctx)]


def sidekiq(d, lvl, logger, msg):
    return ["%s pid=1 tid=%s %s%s: %s" % (iso_ms(d), "2f%s" % hexs_t(d), logger + " " if logger else "", lvl, msg)]


def hexs_t(d):
    """One of Sidekiq's 5 worker threads (stable per-thread ids)."""
    return ["ox", "q9", "1k", "bd", "7m"][d.microsecond % 5]


def akka(d, lvl, logger, msg, sysname="akka"):
    return ["[%s] [%s] [%s-%s.actor.default-dispatcher-%d] [%s] %s" % (
        lvl.replace("WARN", "WARN"), d.strftime("%m/%d/%Y %H:%M:%S.") + "%03d" % (d.microsecond // 1000),
        "shipping", sysname, d.second % 9 + 3, logger, msg)]


def kstreams(d, lvl, logger, msg):
    return ["[%s] %s %s (%s)" % (d.strftime("%Y-%m-%d %H:%M:%S,") + "%03d" % (d.microsecond // 1000), lvl, msg, logger)]


def grpc_java(d, lvl, logger, msg):
    return ["%s [grpc-default-executor-%d] %-5s %s - %s" % (d.strftime("%Y-%m-%d %H:%M:%S.") + "%03d" % (d.microsecond // 1000),
                                                            d.second % 5, lvl, logger, msg)]


def django_log(d, lvl, logger, msg):
    return ["[%s] %s [%s:%d] %s" % (d.strftime("%Y-%m-%d %H:%M:%S,") + "%03d" % (d.microsecond // 1000),
                                    lvl.replace("WARN", "WARNING"), logger, 40 + d.second, msg)]


def bun_log(d, lvl, logger, msg):
    return ["%s [%s] %s: %s" % (iso_ms(d), lvl.lower(), logger, msg)]


def vault_log(d, lvl, logger, msg):
    return ["%s [%-5s] %s: %s" % (iso_ms(d), lvl, logger, msg)]


def otel_log(d, lvl, logger, msg, kv="{}"):
    return ["%s\t%s\t%s\t%s\t%s" % (iso_ms(d), LV[lvl], logger, msg, kv)]


def envoy_access(r, d, m, path, st, ms):
    return '[%s] "%s %s HTTP/1.1" %d %s 0 %d %d %d "%s" "okhttp/4.12.0" "%s" "api.acme.io" "%s:8080"' % (
        iso_ms(d), m, path, st, "-" if st < 500 else "UF", r.randint(80, 4000), int(ms), max(0, int(ms) - 1),
        ip(r), uid(r), ip(r))


def nginx_access(r, d, m, path, st, ms):
    return '%s - - [%s] "%s %s HTTP/1.1" %d %d "-" "Mozilla/5.0" %d %.3f [shop-web-80] [] %s:8080 %d %.3f %d %s' % (
        ip(r), clf(d), m, path, st, r.randint(200, 9000), r.randint(300, 900), ms / 1000, ip(r),
        r.randint(200, 9000), ms / 1000, st, hexs(r, 32))


def common_access(r, d, m, path, st, ms):
    return '%s [%s] "%s %s HTTP/1.1" %d %d "-" "python-requests/2.32.3"' % (ip(r), clf(d), m, path, st, r.randint(80, 5000))


def java_trace(exc, msg, frames, caused=None):
    out = ["%s: %s" % (exc, msg)] + ["\tat %s" % f for f in frames]
    if caused:
        out.append("Caused by: %s: %s" % caused[:2])
        out += ["\tat %s" % f for f in caused[2]]
        out.append("\t... %d common frames omitted" % (len(frames) + 3))
    return out


def py_trace(frames, exc):
    out = ["Traceback (most recent call last):"]
    for f, ln, fn, code in frames:
        out += ['  File "%s", line %d, in %s' % (f, ln, fn), "    " + code]
    return out + [exc]


# ---------------------------------------------------------------- generic HTTP scenario
class Web:
    """A Scn plus a stack: boot lines, request simulation, failure injection."""

    def __init__(self, seed, name, ns, app, start, cver, sver, log, access=None, weight=20, step=1,
                 steps=6, nc=2, nst=4, rate=4.0, routes=None, registry=None):
        self.s = Scn(seed, name, ns, app, start, weight, step, steps, cver, sver,
                     ncanary=nc, nstable=nst, registry=registry)
        self.log, self.access, self.rate = log, access, rate
        self.routes = routes or [("GET", "/api/v1/items/{id}", 60, 22), ("POST", "/api/v1/items", 25, 45),
                                 ("GET", "/healthz", 15, 2)]
        self.s.rollout_events(nc)
        for p in self.s.cpods:
            self.s.pod_start_events(p)

    def L(self, side, pod, off, lvl, logger, msg, extra=()):
        self.s.emit(side, pod, off, self.log(self.s.at(off), lvl, logger, msg) + list(extra))

    def boot(self, side, pod, off, lines):
        """lines: [(dt, lvl, logger, msg)]"""
        t = off
        for dtt, lvl, lg, msg in lines:
            t += dtt
            self.L(side, pod, t, lvl, lg, msg)

    def run(self, cfail=None, sfail=None, c_from=0.0, s_share=None, crate=None):
        """cfail/sfail(r, off, pod, route) -> None or (status, ms, [lines])."""
        s = self.s
        share = s_share if s_share is not None else (1 - s.weight / 100.0)
        total = int(self.rate * s.dur / max(0.05, 1 - share)) if share < 1 else int(self.rate * s.dur)
        nstab = int(total * share)
        ncan = crate if crate is not None else int((total - nstab) * (s.dur - c_from) / s.dur)
        for side, n, fail, t0 in (("canary", ncan, cfail, c_from), ("stable", nstab, sfail, 0.0)):
            def fn(r, off, pod, fail=fail):
                m, path, _, med = wpick(r, [((a, b, c, d), c) for a, b, c, d in self.routes])
                path = path.replace("{id}", str(r.randint(1000, 99999)))
                st, ms, lines = (404 if r.random() < 0.005 else 200), logn(r, med, 0.45), []
                res = fail(r, off, pod, path) if fail else None
                if res:
                    st, ms, lines = res
                if self.access:
                    lines = list(lines) + [self.access(r, s.at(off + ms / 1000.0), m, path, st, ms)]
                return {"status": st, "lat": ms, "lines": lines}
            s.traffic(side, n, fn, t_from=t0)


def success(metrics):
    """Rewrite error_rate as success_rate (better higher)."""
    out = []
    for m in metrics:
        if m["name"] == "error_rate":
            m = dict(m, name="success_rate", better="higher",
                     canary=[round(1 - x, 4) for x in m["canary"]], stable=[round(1 - x, 4) for x in m["stable"]])
        out.append(m)
    return out


def stamp(pods, started, ready):
    for p in pods:
        p["startedAt"], p["readyAt"] = started, ready
    return pods


# ================================================================ start-up transients
def webflux_boot(w, pod, off, ver, db_ready_at=None, db_err_until=None):
    app = w.s.app
    w.boot("canary", pod, off, [
        (0, "INFO", "c.a.%s.Application" % app.replace("-", ""), "Starting Application v%s using Java 21.0.5 with PID 1" % ver),
        (0.4, "INFO", "c.a.%s.Application" % app.replace("-", ""), 'No active profile set, falling back to 1 default profile: "default"'),
        (2.1, "INFO", "o.s.d.r.c.RepositoryConfigurationDelegate", "Bootstrapping Spring Data R2DBC repositories in DEFAULT mode."),
        (1.3, "INFO", "o.s.b.web.embedded.netty.NettyWebServer", "Netty started on port 8080 (http)")])


def r2dbc_refused(w, pod, t0, t1, period=2.0):
    t, n = t0, 0
    while t < t1:
        n += 1
        w.L("canary", pod, t, "WARN", "i.r.p.client.ReactorNettyClient",
            "Connection refused: localhost/127.0.0.1:5432; retrying in %dms (attempt %d)" % (int(period * 1000), n),
            ["io.netty.channel.AbstractChannel$AnnotatedConnectException: Connection refused: localhost/127.0.0.1:5432",
             "Caused by: java.net.ConnectException: Connection refused",
             "\tat java.base/sun.nio.ch.Net.pollConnect(Native Method)",
             "\tat java.base/sun.nio.ch.SocketChannelImpl.finishConnect(SocketChannelImpl.java:946)"])
        t += period * (1 + w.s.r.uniform(-0.1, 0.1))


WEBFLUX_ROUTES = [("GET", "/v2/quotes/{id}", 60, 18), ("POST", "/v2/quotes", 30, 40), ("GET", "/actuator/health", 10, 2)]


@holdout
def h01():
    w = Web(9001, "h01-quotes-webflux-r2dbc-proxy-late-start", "pricing", "quote-svc", "2026-12-01T09:00:00Z",
            "4.3.0", "4.2.7", logback("quote-svc"), None, routes=WEBFLUX_ROUTES)
    s = w.s
    for i, p in enumerate(s.cpods):
        webflux_boot(w, p, 1.0 + i, s.cver)
        r2dbc_refused(w, p, 5.0 + i, 31.0 + i)
        w.L("canary", p, 33.2 + i, "INFO", "c.a.quotesvc.db.PoolWarmup", "R2DBC pool ready: 10 connections to postgres://127.0.0.1:5432/quotes")
        w.L("canary", p, 34.0 + i, "INFO", "o.s.b.a.availability.ApplicationAvailabilityBean", "Application availability state ReadinessState changed to ACCEPTING_TRAFFIC")
        s.events.append(E("Pod/" + p, "Warning", "Unhealthy", "Readiness probe failed: HTTP probe failed with statuscode: 503", 6))
    w.run(c_from=36.0)
    m = s.http_metrics(p50=True)
    return s.build(
        "Spring WebFlux + R2DBC behind a cloud-sql-proxy sidecar. The proxy starts ~30 s after the app, so "
        "each canary pod logs ~13 'Connection refused ... retrying' warnings (with a ConnectException trace) "
        "between window start+5 s and +32 s, then 'pool ready' and readiness ACCEPTING_TRAFFIC; traffic reaches the "
        "canary only after readiness and is as healthy as stable for the remaining 4.5 min (error rate, p99 "
        "equal). The stable pods started long ago so they show none of this. A start-up transient that stops "
        "before readiness is not a regression: promote. Recognisable from log timestamps alone (no startedAt).",
        X("promote", "startup-transient"), metrics=m)


@holdout
def h02():
    w = Web(9002, "h02-quotes-webflux-r2dbc-refused-never-stops", "pricing", "quote-svc", "2026-12-01T09:20:00Z",
            "4.3.0", "4.2.7", logback("quote-svc"), None, routes=WEBFLUX_ROUTES)
    s = w.s
    for i, p in enumerate(s.cpods):
        webflux_boot(w, p, 1.0 + i, s.cver)
        r2dbc_refused(w, p, 5.0 + i, 300.0, period=4.0)

    def bad(r, off, pod, path):
        if path.startswith("/v2/quotes") and r.random() < 0.55:
            d = s.at(off)
            return 500, logn(r, 9, 0.3), w.log(d, "ERROR", "o.s.w.s.a.HttpWebHandlerAdapter",
                                                 "[%s] 500 Server Error for HTTP GET \"%s\"" % (hexs(r, 8), path)) + [
                "io.r2dbc.postgresql.PostgresqlConnectionFactory$PostgresConnectionException: Cannot connect to localhost/127.0.0.1:5432",
                "\tat io.r2dbc.postgresql.PostgresqlConnectionFactory.cannotConnect(PostgresqlConnectionFactory.java:188)",
                "Caused by: java.net.ConnectException: Connection refused"]
        return None
    w.run(cfail=bad)
    return s.build(
        "Counter-case to h01: same stack and same 'Connection refused ... retrying' warnings, but the sidecar "
        "never comes up (new proxy flag in the canary manifest): the retries continue for the whole window and "
        "about half of canary quote requests fail with 500 PostgresConnectionException. Stable is clean. abort.",
        X("abort", "dependency", ["Connection refused", "5432", "PostgresConnectionException", "r2dbc"]),
        metrics=s.http_metrics())


def micronaut_boot(w, side, pod, off):
    w.boot(side, pod, off, [(0, "INFO", "io.micronaut.runtime.Micronaut", "Startup completed in 912ms. Server Running: http://0.0.0.0:8080")])


@holdout
def h03():
    w = Web(9003, "h03-ledger-micronaut-vault-agent-late-start", "finance", "ledger-api", "2026-12-01T09:40:00Z",
            "7.1.0", "7.0.9", micronaut_log, None, nc=2, rate=3.0)
    s = w.s
    vlog = {}
    for i, p in enumerate(s.cpods):
        micronaut_boot(w, "canary", p, -38.0 + i)
        t, n = -36.0 + i, 0
        while t < -8.0 + i:
            n += 1
            w.L("canary", p, t, "WARN", "i.m.d.jdbc.hikari.HikariUrlDataSource",
                "HikariPool-1 - Failed to read credentials from /vault/secrets/db-creds: No such file or directory; retry %d in 2s" % n)
            t += 2.0
        w.L("canary", p, -7.0 + i, "INFO", "com.zaxxer.hikari.HikariDataSource", "HikariPool-1 - Start completed.")
        vlog[p] = [vault_log(s.at(-37.5 + i), "INFO", "agent.auth.handler", "authenticating")[0],
                   vault_log(s.at(-9.1 + i), "INFO", "agent.auth.handler", "authentication successful, sending token to sinks")[0],
                   vault_log(s.at(-8.8 + i), "INFO", "agent", "(runner) rendered \"(dynamic)\" => \"/vault/secrets/db-creds\"")[0]]
    w.run()
    for p, ls in vlog.items():
        s.logs["canary"][(p, "vault-agent")] = [(-40, 0, ls)]
    pods = {"canary": stamp([P(p) for p in s.cpods], "2026-12-01T09:39:21Z", "2026-12-01T09:39:55Z"),
            "stable": [P(p) for p in s.spods]}
    return s.build(
        "Micronaut ledger API with a Vault agent sidecar that renders DB credentials. The agent authenticates "
        "~28 s after the app container starts, so each canary pod logs ~14 WARN 'Failed to read credentials ... "
        "retry' lines before the window starts (timestamps before window.start; pods carry startedAt/readyAt), then "
        "'HikariPool-1 - Start completed' and no further warnings. Through the window the canary serves traffic "
        "as healthily as stable. A transient that ended before readiness: promote.",
        X("promote", "startup-transient"), metrics=s.http_metrics(), pods=pods)


def chi_boot(w, side, pod, off, ver):
    w.boot(side, pod, off, [(0, "INFO", "main", "starting inventory-api version=%s" % ver),
                            (0.02, "INFO", "http", "listening on :8080")])


@holdout
def h04():
    w = Web(9004, "h04-inventory-chi-pgbouncer-late-start", "stock", "inventory-api", "2026-12-01T10:00:00Z",
            "2.9.0", "2.8.4", zerolog, None, nc=3, rate=5.0)
    s = w.s
    for i, p in enumerate(s.cpods):
        chi_boot(w, "canary", p, 0.5 + i * 0.3, s.cver)
        t = 0.8 + i * 0.3
        while t < 27.0:
            w.L("canary", p, t, "ERROR", "db", "failed to connect to `host=127.0.0.1 user=inventory database=inventory`: dial error (dial tcp 127.0.0.1:6432: connect: connection refused)", )
            t += 1.5
        w.L("canary", p, 27.4 + i, "INFO", "db", "connected to pgbouncer pool_mode=transaction")

    w.run(c_from=30.0)
    for side in ("canary", "stable"):
        pods = s.cpods if side == "canary" else s.spods
        for p in pods:
            s.every(side, p, 60, lambda t: zerolog(s.at(t), "INFO", "db", "pool stats", total_conns=10, idle_conns=s.r.randint(3, 9)))
    return s.build(
        "Go chi + zerolog with a pgbouncer sidecar that starts late. Each of the 3 canary pods logs ~18 ERROR "
        "'dial tcp 127.0.0.1:6432: connect: connection refused' lines in the first 27 s of the window, then "
        "'connected to pgbouncer' and nothing but pool stats; traffic reaches the canary only from +30 s "
        "(readiness), and from then on error rate and p99 match stable. The burst is visible only through the "
        "log timestamps (no startedAt). Start-up transient that stopped: promote.",
        X("promote", "startup-transient"), metrics=s.http_metrics())


@holdout
def h05():
    w = Web(9005, "h05-inventory-chi-pgbouncer-refused-persists", "stock", "inventory-api", "2026-12-01T10:20:00Z",
            "2.9.0", "2.8.4", zerolog, None, nc=3, rate=5.0)
    s = w.s
    for i, p in enumerate(s.cpods):
        chi_boot(w, "canary", p, 0.5 + i * 0.3, s.cver)

    def bad(r, off, pod, path):
        if path.startswith("/api") and r.random() < 0.3:
            return 503, logn(r, 3, 0.3), zerolog(s.at(off), "ERROR", "http",
                                                 "request failed", method="GET", path=path, status=503,
                                                 error="failed to connect to `host=127.0.0.1 user=inventory database=inventory`: dial error (dial tcp 127.0.0.1:6432: connect: connection refused)")
        return None
    w.run(cfail=bad, c_from=0.0)
    return s.build(
        "Counter-case to h04: the pgbouncer sidecar's new image crashes on a renamed config key, so the "
        "'connection refused' errors on 127.0.0.1:6432 never stop: ~30% of canary API requests fail with 503 for "
        "the whole window, stable clean. abort.",
        X("abort", "dependency", ["connection refused", "6432", "pgbouncer"]), metrics=s.http_metrics(),
        pods={"canary": [P(p) for p in s.cpods], "stable": [P(p) for p in s.spods]})


# ================================================================ late-growing errors
def ramp(t, start, dur=300):
    """0 before start, then grows quadratically to 1 at dur."""
    return 0.0 if t < start else ((t - start) / (dur - start)) ** 2


@holdout
def h06():
    w = Web(9006, "h06-billing-micronaut-hikari-pool-exhaustion-late", "finance", "billing-api",
            "2026-12-01T11:00:00Z", "3.4.0", "3.3.2", micronaut_log, None, nc=2, rate=4.0)
    s = w.s

    def bad(r, off, pod, path):
        if r.random() < 0.35 * ramp(off, 190):
            return 500, 30000 + r.uniform(0, 40), micronaut_log(s.at(off + 30), "ERROR", "i.m.h.s.netty.RoutingInBoundHandler",
                                                                "Unexpected error occurred: HikariPool-1 - Connection is not available, request timed out after 30000ms (total=10, active=10, idle=0, waiting=%d)" % r.randint(12, 60)) + java_trace(
                "java.sql.SQLTransientConnectionException", "HikariPool-1 - Connection is not available, request timed out after 30000ms.",
                ["com.zaxxer.hikari.pool.HikariPool.createTimeoutException(HikariPool.java:696)",
                 "com.zaxxer.hikari.pool.HikariPool.getConnection(HikariPool.java:181)",
                 "com.acme.billing.repo.InvoiceRepository.findOpen(InvoiceRepository.java:57)"])
        if r.random() < ramp(off, 170) * 0.5:
            return 200, logn(r, 900, 0.4), []
        return None
    w.run(cfail=bad)
    for p in s.cpods:
        s.every("canary", p, 30, lambda t: micronaut_log(s.at(t), "DEBUG", "com.zaxxer.hikari.pool.HikariPool",
                                                         "HikariPool-1 - Pool stats (total=10, active=%d, idle=%d, waiting=%d)" % (
                                                             min(10, 2 + int(t / 30)), max(0, 8 - int(t / 30)), max(0, int((t - 180) / 8)))))
    return s.build(
        "Micronaut billing API: the canary's new InvoiceRepository.findOpen leaks a connection on an early "
        "return. Pool stats show active connections creeping up from 2 to 10; from ~+190 s requests wait 30 s "
        "and fail with 'HikariPool-1 - Connection is not available', growing through the last third of the "
        "window. The total failure count is modest (a few percent over the window), but errors that start late "
        "and grow will not stop: abort.",
        X("abort", "resource-exhaustion", ["HikariPool", "Connection is not available", "pool"]), metrics=s.http_metrics())


@holdout
def h07():
    w = Web(9007, "h07-thumbnails-echo-memory-leak-late", "media", "thumbnailer", "2026-12-01T11:20:00Z",
            "1.12.0", "1.11.3", zerolog, None, nc=2, rate=3.0,
            routes=[("POST", "/v1/thumbnails", 80, 60), ("GET", "/v1/thumbnails/{id}", 20, 8)])
    s = w.s

    def bad(r, off, pod, path):
        p = ramp(off, 200)
        if r.random() < 0.25 * p:
            return 503, logn(r, 5000, 0.2), zerolog(s.at(off), "ERROR", "render", "render failed", path=path,
                                                    error="context deadline exceeded (GC assist: heap 1.82GiB of GOMEMLIMIT 1.9GiB)")
        if r.random() < p:
            return 200, logn(r, 60 + 900 * p, 0.4), []
        return None
    w.run(cfail=bad)
    for p in s.cpods:
        s.every("canary", p, 20, lambda t: zerolog(s.at(t), "WARN" if t > 200 else "INFO", "runtime",
                                                   "memory", heap_alloc_mib=int(180 + t * 5.5), num_gc=int(t * 2)), start=5)
    for p in s.spods:
        s.every("stable", p, 20, lambda t: zerolog(s.at(t), "INFO", "runtime", "memory",
                                                   heap_alloc_mib=s.r.randint(170, 210), num_gc=int(t * 2)), start=5)
    return s.build(
        "Go echo + zerolog thumbnailer. The canary's new image cache never evicts: heap_alloc grows linearly "
        "from 180 MiB to ~1.8 GiB over the window (stable flat at ~190 MiB); in the last third GC assist stalls "
        "push p99 up and a growing share of renders fail 'context deadline exceeded'. Few errors in total, but a "
        "memory leak heading for the limit: abort.",
        X("abort", "memory-leak", ["heap", "memory", "GOMEMLIMIT", "deadline exceeded"]), metrics=s.http_metrics())


@holdout
def h08():
    s = Scn(9008, "h08-mailer-sidekiq-redis-backlog-late", "comms", "mailer-worker", "2026-12-01T11:40:00Z",
            0, 1, 4, "5.2.0", "5.1.4", ncanary=1, nstable=3)
    s.rollout_events(1, scale_only=True)
    s.pod_start_events(s.cpods[0])
    lat = {}
    for side, pods in (("canary", s.cpods), ("stable", s.spods)):
        for p in pods:
            t = s.r.uniform(0, 1)
            while t < 300:
                jid = hexs(s.r, 24)
                cls = wpick(s.r, [("DeliveryMailerJob", 70), ("DigestJob", 30)])
                el = logn(s.r, 0.08, 0.4)
                bad = side == "canary" and s.r.random() < 0.6 * ramp(t, 200)
                if bad:
                    el = 5.0
                    s.emit(side, p, t, [sidekiq(s.at(t), "INFO", "class=%s jid=%s" % (cls, jid), "start")[0],
                                        sidekiq(s.at(t + el), "WARN", "class=%s jid=%s" % (cls, jid),
                                                "{\"context\":\"Job raised exception\",\"job\":{\"class\":\"%s\",\"jid\":\"%s\",\"retry_count\":%d}}" % (cls, jid, s.r.randint(0, 4)))[0],
                                        sidekiq(s.at(t + el), "WARN", "", "RedisClient::ReadTimeoutError: Waited 5.0 seconds")[0],
                                        sidekiq(s.at(t + el), "WARN", "", "/usr/local/bundle/gems/redis-client-0.22.2/lib/redis_client/ruby_connection.rb:107:in `read'")[0]])
                else:
                    s.emit(side, p, t, [sidekiq(s.at(t), "INFO", "class=%s jid=%s" % (cls, jid), "start")[0],
                                        sidekiq(s.at(t + el), "INFO", "class=%s jid=%s elapsed=%.3f" % (cls, jid, el), "done")[0]])
                lat.setdefault(side, []).append((t, bad))
                t += s.r.expovariate(2.0 if side == "canary" else 1.5)
    bq = [[] for _ in range(10)]
    for t, b in lat["canary"]:
        bq[int(t // 30)].append(b)
    depth_c = [int(40 + 15 * i + (900 * ramp(i * 30, 200) if i * 30 >= 200 else 0)) for i in range(10)]
    return s.build(
        "Sidekiq mailer worker (no HTTP; setCanaryScale, weight 0). The canary batches Redis pipeline calls; "
        "from ~+200 s Redis round trips exceed 5 s and a growing share of jobs fail 'RedisClient::ReadTimeoutError' "
        "and go to retry, and the queue backlog (sidekiq_queue_latency) grows steeply in the last third while "
        "stable drains normally. Late-growing failures plus backlog: abort.",
        X("abort", "queue-backlog", ["ReadTimeoutError", "backlog", "queue", "Redis"]),
        metrics=[{"name": "sidekiq_queue_latency_s", "unit": "s", "better": "lower", "critical": True,
                  "canary": [round(d / 20.0, 1) for d in depth_c], "stable": [round(s.r.uniform(1.5, 3.0), 1) for _ in range(10)]},
                 {"name": "job_failure_ratio", "unit": "ratio", "better": "lower",
                  "canary": [round(sum(b) / max(1, len(b)), 4) for b in bq],
                  "stable": [0.0] * 10}], traffic=None)


# ================================================================ success ratio vs error ratio twins
def express_scn(seed, name, bad, as_success):
    w = Web(seed, name, "web", "profile-bff", "2026-12-01T12:00:00Z", "6.0.0", "5.9.2", winston, None,
            nc=2, rate=6.0, routes=[("GET", "/bff/profile/{id}", 70, 30), ("PUT", "/bff/profile/{id}", 20, 55), ("GET", "/ready", 10, 1)])
    s = w.s
    for p in s.cpods:
        w.L("canary", p, -20, "INFO", "profile-bff", "Server listening on port 3000 (node v22.11.0, express 5.0.1)")

    def fail(r, off, pod, path):
        if bad and path.startswith("/bff") and r.random() < 0.07:
            return 502, logn(r, 25, 0.3), winston(s.at(off), "ERROR", "profile-bff", "upstream avatars-svc returned 502",
                                                  path=path, err="AxiosError: Request failed with status code 502",
                                                  stack="AxiosError: Request failed with status code 502\n    at settle (/app/node_modules/axios/lib/core/settle.js:19:12)\n    at IncomingMessage.handleStreamEnd (/app/node_modules/axios/lib/adapters/http.js:589:11)")
        if path.startswith("/bff") and r.random() < 0.001:
            return 500, logn(r, 30, 0.3), winston(s.at(off), "ERROR", "profile-bff", "request aborted by client", path=path)
        return None
    def noise(r, off, pod, path):
        if path.startswith("/bff") and r.random() < 0.001:
            return 500, logn(r, 30, 0.3), winston(s.at(off), "ERROR", "profile-bff", "request aborted by client", path=path)
        return None
    w.run(cfail=fail, sfail=noise)
    m = s.http_metrics()
    if as_success:
        m = success(m)
    return s, m


@holdout
def h09():
    s, m = express_scn(9009, "h09-profile-express-success-rate-drop", True, True)
    return s.build(
        "Express + winston BFF; its only error metric is `success_rate` (ratio, better=higher, critical). The "
        "canary calls a new avatars endpoint that 502s for ~7% of profile requests: canary success_rate ~0.93 vs "
        "stable ~0.999, with matching AxiosError 502 lines. A clear drop of a higher-is-better critical metric: "
        "abort. Twin of h10 (same facts as error_rate).",
        X("abort", "error-rate", ["502", "avatars", "success_rate", "AxiosError"]), metrics=m)


@holdout
def h10():
    s, m = express_scn(9009, "h10-profile-express-error-rate-twin", True, False)
    return s.build("Twin of h09: identical evidence (same seed) with the metric written as error_rate "
                   "(~0.07 canary vs ~0.001 stable). abort.",
                   X("abort", "error-rate", ["502", "avatars", "error_rate", "AxiosError"]), metrics=m)


@holdout
def h11():
    s, m = express_scn(9011, "h11-profile-express-success-rate-healthy", False, True)
    return s.build(
        "Express + winston BFF, healthy canary, metric as `success_rate` (better=higher): canary and stable both "
        "~0.999, rare 'request aborted by client' on both. Nothing regressed: promote. Twin of h12.",
        X("promote", "benign"), metrics=m)


@holdout
def h12():
    s, m = express_scn(9011, "h12-profile-express-error-rate-healthy-twin", False, False)
    return s.build("Twin of h11 (same seed) with the metric as error_rate (~0.001 both sides). promote.",
                   X("promote", "benign"), metrics=m)


# ================================================================ data integrity at WARN/INFO
@holdout
def h13():
    w = Web(9013, "h13-documents-symfony-checksum-mismatch-warn", "docs", "document-store", "2026-12-01T12:30:00Z",
            "8.4.0", "8.3.1", None, nginx_access, nc=2, rate=2.0,
            routes=[("PUT", "/documents/{id}", 40, 80), ("GET", "/documents/{id}", 60, 20)])
    w.log = lambda d, lvl, lg, msg, ctx="{}": monolog(d, lvl, lg, msg, ctx)
    s = w.s

    def fail(r, off, pod, path):
        if path and r.random() < 0.06:
            did = path.rsplit("/", 1)[1]
            return 200, logn(r, 80, 0.4), monolog(s.at(off), "WARN", "app",
                                                  "Stored object checksum mismatch, object quarantined",
                                                  '{"document_id":"%s","expected_sha256":"%s","actual_sha256":"%s","bucket":"docs-prod"}' % (did, hexs(r, 64), hexs(r, 64)))
        return None
    w.run(cfail=fail)
    for side, pods in (("canary", s.cpods), ("stable", s.spods)):
        for p in pods:
            s.every(side, p, 45, lambda t: monolog(s.at(t), "INFO", "request", 'Matched route "document_get".', '{"route":"document_get","method":"GET"}'))
    return s.build(
        "PHP Symfony + monolog document store behind nginx ingress. The canary's new streaming upload path "
        "writes truncated objects: ~6% of canary requests log at WARNING 'Stored object checksum mismatch, object "
        "quarantined' with differing sha256 values, while HTTP status stays 200 and error rate/latency match "
        "stable. Silent data corruption is worse than a 500: abort.",
        X("abort", "data-integrity", ["checksum mismatch", "quarantined", "checksum"]), metrics=s.http_metrics())


@holdout
def h14():
    s = Scn(9014, "h14-orders-kafka-streams-corrupt-record-info", "orders", "order-enricher", "2026-12-01T12:50:00Z",
            0, 1, 4, "3.1.0", "3.0.6", ncanary=1, nstable=3)
    s.rollout_events(1, scale_only=True)
    s.pod_start_events(s.cpods[0])
    for side, pods in (("canary", s.cpods), ("stable", s.spods)):
        for p in pods:
            def fn(t, side=side, thread=uid(s.r)):
                r = s.r
                out = kstreams(s.at(t), "INFO", "org.apache.kafka.streams.processor.internals.StreamThread",
                               "stream-thread [order-enricher-%s-StreamThread-1] Processed %d total records, ran %d punctuators, and committed %d total tasks since the last update" % (thread, r.randint(2400, 2700), 0, 6))
                if side == "canary" and r.random() < 0.8:
                    out += kstreams(s.at(t + 0.3), "INFO", "com.acme.enricher.DeadLetterHandler",
                                    "Record failed read-back verification, routed to order-enricher-dlq: topic=orders partition=%d offset=%d reason=\"corrupt record: CRC32C mismatch in value (schema id 1187)\"" % (r.randint(0, 11), r.randint(10**7, 10**8)))
                return out
            s.every(side, p, 12, fn)
    return s.build(
        "Kafka Streams enricher (no HTTP; setCanaryScale). Every ~12 s the canary logs at INFO 'Record failed "
        "read-back verification, routed to order-enricher-dlq ... corrupt record: CRC32C mismatch' (the new "
        "serializer writes a different schema id); stable processes the same topics with none. Throughput looks "
        "equal and there are no ERROR lines, but the canary is corrupting records: abort.",
        X("abort", "data-integrity", ["corrupt record", "read-back verification", "CRC32C", "dlq"]),
        metrics=[{"name": "records_processed_rate", "unit": "count", "better": "higher",
                  "canary": [round(s.r.uniform(205, 215), 1) for _ in range(10)],
                  "stable": [round(s.r.uniform(204, 216), 1) for _ in range(10)]}], traffic=None)


@holdout
def h15():
    w = Web(9015, "h15-blobs-tonic-readback-verify-failed-warn", "storage", "blob-gateway", "2026-12-01T13:10:00Z",
            "0.19.0", "0.18.4", tracing_json, None, nc=2, rate=5.0,
            routes=[("POST", "/blob.v1.Blob/Put", 50, 15), ("POST", "/blob.v1.Blob/Get", 50, 6)])
    s = w.s

    def fail(r, off, pod, path):
        if path.endswith("Put") and r.random() < 0.04:
            return 200, logn(r, 15, 0.4), tracing_json(s.at(off), "WARN", "blob_gateway::store",
                                                       "read-back verification failed; chunk marked for re-replication",
                                                       chunk_id=hexs(r, 16), expected_crc="0x%s" % hexs(r, 8), got_crc="0x%s" % hexs(r, 8))
        return None
    w.run(cfail=fail)
    for side, pods in (("canary", s.cpods), ("stable", s.spods)):
        for p in pods:
            s.every(side, p, 20, lambda t: tracing_json(s.at(t), "INFO", "tower_http::trace::on_response",
                                                        "finished processing request", latency="%d ms" % s.r.randint(3, 20), status=200))
    return s.build(
        "Rust tonic gRPC blob gateway with tracing JSON. ~4% of canary Put calls log WARN 'read-back verification "
        "failed; chunk marked for re-replication' with differing CRCs (new zero-copy write path); the gRPC status "
        "is still OK so error_rate is flat. Data written by the canary does not read back: abort.",
        X("abort", "data-integrity", ["read-back verification", "crc", "chunk"]), metrics=s.http_metrics())


# ================================================================ security / TLS / resource / dependency
@holdout
def h16():
    w = Web(9016, "h16-payments-grpc-java-pkix-path", "payments", "risk-scorer", "2026-12-01T13:30:00Z",
            "12.0.0", "11.8.2", grpc_java, None, nc=2, rate=4.0,
            routes=[("POST", "/risk.v3.Scorer/Score", 100, 12)])
    s = w.s

    def fail(r, off, pod, path):
        if r.random() < 0.22:
            return 503, logn(r, 40, 0.3), grpc_java(s.at(off), "WARN", "c.a.risk.FraudFeedClient",
                                                    "fraud-feed call failed: UNAVAILABLE: io exception") + java_trace(
                "io.grpc.StatusRuntimeException", "UNAVAILABLE: io exception",
                ["io.grpc.stub.ClientCalls.toStatusRuntimeException(ClientCalls.java:268)",
                 "io.grpc.stub.ClientCalls.blockingUnaryCall(ClientCalls.java:249)",
                 "com.acme.risk.FraudFeedClient.lookup(FraudFeedClient.java:71)"],
                ("javax.net.ssl.SSLHandshakeException", "PKIX path building failed: sun.security.provider.certpath.SunCertPathBuilderException: unable to find valid certification path to requested target",
                 ["java.base/sun.security.ssl.Alert.createSSLException(Alert.java:130)",
                  "io.netty.handler.ssl.SslHandler.decode(SslHandler.java:1338)"]))
        return None
    w.run(cfail=fail)
    return s.build(
        "gRPC Java risk scorer. The canary image's new base (distroless java21) lacks the internal CA bundle, so "
        "~22% of Score calls that need the fraud-feed dependency fail UNAVAILABLE with SSLHandshakeException 'PKIX "
        "path building failed'. Stable fine. abort.",
        X("abort", "tls", ["PKIX", "SSLHandshakeException", "certification path"]), metrics=s.http_metrics())


@holdout
def h17():
    w = Web(9017, "h17-geo-chi-x509-unknown-authority", "maps", "geocoder", "2026-12-01T13:50:00Z",
            "3.3.0", "3.2.9", zerolog, None, nc=1, rate=4.0)
    s = w.s

    def fail(r, off, pod, path):
        if path.startswith("/api") and r.random() < 0.5:
            return 502, logn(r, 8, 0.3), zerolog(s.at(off), "ERROR", "upstream", "tile fetch failed",
                                                 error='Get "https://tiles.internal.acme.io/v2/12/2048/1361": tls: failed to verify certificate: x509: certificate signed by unknown authority')
        return None
    w.run(cfail=fail)
    return s.build(
        "Go chi + zerolog geocoder. The canary switched to a scratch base image without ca-certificates: half of "
        "API requests fail 502 with 'x509: certificate signed by unknown authority' from the tiles upstream. abort.",
        X("abort", "tls", ["x509", "unknown authority", "certificate"]), metrics=s.http_metrics())


@holdout
def h18():
    w = Web(9018, "h18-claims-dotnet-efcore-403-after-credential-rotation", "insurance", "claims-api",
            "2026-12-01T14:10:00Z", "2.6.0", "2.5.3", dotnet_json, None, nc=2, rate=3.5,
            routes=[("GET", "/claims/{id}", 60, 25), ("POST", "/claims/{id}/documents", 40, 70)])
    s = w.s

    def fail(r, off, pod, path):
        if path.endswith("documents") and r.random() < 0.9:
            return 500, logn(r, 60, 0.3), dotnet_json(s.at(off), "ERROR", "Microsoft.AspNetCore.Diagnostics.ExceptionHandlerMiddleware",
                                                      "An unhandled exception has occurred while executing the request.", 1) + [
                "Azure.RequestFailedException: This request is not authorized to perform this operation using this permission.",
                "Status: 403 (This request is not authorized to perform this operation using this permission.)",
                "ErrorCode: AuthorizationPermissionMismatch",
                "   at Azure.Storage.Blobs.BlobRestClient.UploadAsync(Int64 contentLength, Stream body, CancellationToken cancellationToken)",
                "   at Claims.Api.Documents.DocumentStore.PutAsync(Guid claimId, Stream body) in /src/Claims.Api/Documents/DocumentStore.cs:line 48"]
        return None
    w.run(cfail=fail)
    for side, pods in (("canary", s.cpods), ("stable", s.spods)):
        for p in pods:
            s.every(side, p, 25, lambda t: dotnet_json(s.at(t), "INFO", "Microsoft.EntityFrameworkCore.Database.Command",
                                                       "Executed DbCommand (%dms) [Parameters=[@__id_0='?' (DbType = Guid)], CommandType='Text', CommandTimeout='30']" % s.r.randint(1, 9), 20101))
    return s.build(
        ".NET 8 minimal API + EF Core. The canary uses a new workload identity (credential change) that lacks "
        "Storage Blob Data Contributor: almost every document upload fails 500 with Azure.RequestFailedException "
        "Status 403 AuthorizationPermissionMismatch. Stable uploads succeed. abort.",
        X("abort", "auth", ["403", "AuthorizationPermissionMismatch", "not authorized"]), metrics=s.http_metrics())


@holdout
def h19():
    w = Web(9019, "h19-shipping-akka-http-too-many-open-files", "logistics", "shipping-rates", "2026-12-01T14:30:00Z",
            "5.0.0", "4.9.1", akka, None, nc=2, rate=4.0)
    s = w.s

    def fail(r, off, pod, path):
        if pod == s.cpods[0] and off > 120 and r.random() < 0.4:
            return 503, logn(r, 4, 0.3), akka(s.at(off), "ERROR", "akka.actor.ActorSystemImpl(shipping)",
                                              "Error during processing of request: 'Accept failed'. Completing with 503 Service Unavailable response.") + [
                "java.io.IOException: Too many open files",
                "\tat java.base/sun.nio.ch.Net.accept(Native Method)",
                "\tat java.base/sun.nio.ch.ServerSocketChannelImpl.implAccept(ServerSocketChannelImpl.java:433)"]
        return None
    w.run(cfail=fail)
    return s.build(
        "Scala Akka HTTP rates service. The canary leaks one carrier-API HTTP connection per request; after ~2 min "
        "one canary pod hits its fd limit and 40% of its requests fail 503 with 'java.io.IOException: Too many "
        "open files'; the other canary pod is heading the same way. abort.",
        X("abort", "resource-exhaustion", ["Too many open files", "file descriptor", "fd"]), metrics=s.http_metrics())


@holdout
def h20():
    w = Web(9020, "h20-search-aiohttp-dns-dependency", "catalog", "search-suggest", "2026-12-01T14:50:00Z",
            "1.30.0", "1.29.2", gunicorn, common_access, nc=2, rate=2.5)
    s = w.s
    for p in s.cpods:
        w.boot("canary", p, -15, [(0, "INFO", "gunicorn", "Starting gunicorn 23.0.0"),
                                  (0.01, "INFO", "gunicorn", "Listening at: http://0.0.0.0:8080 (1)"),
                                  (0.01, "INFO", "gunicorn", "Using worker: aiohttp.GunicornWebWorker"),
                                  (0.05, "INFO", "gunicorn", "Booting worker with pid: 7")])

    def fail(r, off, pod, path):
        if path.startswith("/api") and r.random() < 0.35:
            return 500, logn(r, 20, 0.3), gunicorn(s.at(off), "ERROR", "aiohttp.server", "Error handling request") + py_trace(
                [("/usr/local/lib/python3.12/site-packages/aiohttp/web_protocol.py", 480, "_handle_request", "resp = await request_handler(request)"),
                 ("/app/suggest/handlers.py", 61, "suggest", "hits = await self.vectors.query(q, k=10)"),
                 ("/usr/local/lib/python3.12/site-packages/aiohttp/connector.py", 1310, "_create_direct_connection", "raise ClientConnectorDNSError(req.connection_key, exc) from exc")],
                "aiohttp.client_exceptions.ClientConnectorDNSError: Cannot connect to host vectors-v2.catalog.svc.cluster.local:6333 ssl:default [Name or service not known]")
        return None
    w.run(cfail=fail)
    return s.build(
        "Python aiohttp on gunicorn. The canary points at a new vector DB service name that does not exist in this "
        "cluster: 35% of API requests fail 500 with ClientConnectorDNSError 'Name or service not known' for "
        "vectors-v2.catalog.svc.cluster.local. Dependency unavailable only for the canary: abort.",
        X("abort", "dependency", ["Name or service not known", "DNS", "vectors-v2"]), metrics=s.http_metrics())


# ================================================================ novel exception in small numbers
@holdout
def h21():
    w = Web(9021, "h21-accounts-django-two-novel-crashes", "accounts", "accounts-web", "2026-12-01T15:10:00Z",
            "2026.12.1", "2026.11.4", django_log, common_access, nc=2, rate=3.0)
    s = w.s
    crashes = [(88.2, s.cpods[0]), (231.7, s.cpods[1])]
    for t, p in crashes:
        s.emit("canary", p, t, django_log(s.at(t), "ERROR", "django.request", "Internal Server Error: /api/v1/accounts/merge") + py_trace(
            [("/usr/local/lib/python3.12/site-packages/django/core/handlers/exception.py", 55, "inner", "response = get_response(request)"),
             ("/app/accounts/views.py", 212, "merge", "target.merge_from(source, policy=request.data[\"policy\"])"),
             ("/app/accounts/models.py", 498, "merge_from", "self.balance_cents += other.wallet.balance_cents")],
            "AttributeError: 'NoneType' object has no attribute 'balance_cents'"))
        s.reqs["canary"].append({"t": t, "status": 500, "lat": 35.0, "pod": p})
    w.run()
    return s.build(
        "Django accounts service. Over the window the canary crashes twice (two pods) on the new account-merge "
        "path with AttributeError 'NoneType' object has no attribute 'balance_cents' (full tracebacks); stable "
        "has never logged this exception. Two 500s in ~180 canary requests is within noise statistically, but "
        "a new crash in new code that merges balances is a real bug a careful SRE would not ship: abort.",
        X("abort", "novel-exception", ["AttributeError", "balance_cents", "merge_from"]), metrics=s.http_metrics())


@holdout
def h22():
    w = Web(9022, "h22-cart-bun-one-novel-typeerror", "shop", "cart-edge", "2026-12-01T15:30:00Z",
            "0.8.0", "0.7.5", bun_log, None, nc=1, rate=4.0)
    s = w.s
    t, p = 143.4, s.cpods[0]
    s.emit("canary", p, t, bun_log(s.at(t), "ERROR", "cart-edge", "unhandled error in POST /api/v1/items") + [
        "TypeError: undefined is not an object (evaluating 'cart.lines.reduce')",
        "      at computeTotals (/app/src/cart/totals.ts:41:22)",
        "      at <anonymous> (/app/src/routes/items.ts:77:18)",
        "      at processTicksAndRejections (native:7:39)"])
    s.reqs["canary"].append({"t": t, "status": 500, "lat": 3.0, "pod": p})
    w.run()
    return s.build(
        "Bun cart service. One canary request crashes with a new TypeError in computeTotals (cart.lines "
        "undefined for a cart created before the migration); stable never logs it. A single 500 moves no metric, "
        "but it is a canary-only crash with a real stack in the new code path: abort.",
        X("abort", "novel-exception", ["TypeError", "computeTotals", "cart.lines"]), metrics=s.http_metrics())


# ================================================================ benign changes
@holdout
def h23():
    w = Web(9023, "h23-documents-symfony-new-feature-info", "docs", "document-store", "2026-12-01T15:50:00Z",
            "8.5.0", "8.4.2", None, nginx_access, nc=2, rate=2.0)
    w.log = lambda d, lvl, lg, msg, ctx="{}": monolog(d, lvl, lg, msg, ctx)
    s = w.s

    def feat(r, off, pod, path):
        if r.random() < 0.3:
            return 200, logn(r, 24, 0.45), monolog(s.at(off), "INFO", "app", "Thumbnail preview generated",
                                                   '{"document_id":"%d","pages":%d,"renderer":"pdfium"}' % (r.randint(1000, 99999), r.randint(1, 40)))
        return None
    w.run(cfail=feat)
    return s.build(
        "Symfony document store: the canary ships thumbnail previews and logs a new INFO line 'Thumbnail preview "
        "generated' on ~30% of requests. Error rate and latency equal to stable. New INFO lines are not errors: promote.",
        X("promote", "benign"), metrics=s.http_metrics())


@holdout
def h24():
    w = Web(9024, "h24-blobs-tonic-log-format-text-to-json", "storage", "blob-gateway", "2026-12-01T16:10:00Z",
            "0.20.0", "0.19.3", tracing_json, None, nc=2, rate=4.0)
    s = w.s

    def text(d, lvl, lg, msg, **kw):
        return ["%s  %s %s: %s %s" % (iso_us(d), lvl.rjust(5), lg, msg, " ".join("%s=%s" % kv for kv in kw.items()))]
    for side, pods, f in (("canary", s.cpods, tracing_json), ("stable", s.spods, text)):
        for p in pods:
            s.every(side, p, 6, lambda t, f=f: f(s.at(t), "INFO", "tower_http::trace::on_response",
                                                 "finished processing request", latency="%d ms" % s.r.randint(2, 25), status=200))
            s.every(side, p, 90, lambda t, f=f: f(s.at(t), "WARN", "h2::proto::connection", "connection error", error="connection reset by peer"))
    w.run()
    return s.build(
        "Rust tonic blob gateway: the canary switched tracing-subscriber from the text formatter to JSON. Same "
        "events (request traces, occasional h2 'connection reset by peer' WARN on both sides at the same rate), "
        "different format; metrics equal. A log format change is benign: promote.",
        X("promote", "benign"), metrics=s.http_metrics())


@holdout
def h25():
    w = Web(9025, "h25-shipping-akka-to-pekko-upgrade", "logistics", "shipping-rates", "2026-12-01T16:30:00Z",
            "5.1.0", "5.0.2", lambda d, lvl, lg, msg: akka(d, lvl, lg, msg, "pekko"), None, nc=2, rate=4.0)
    s = w.s
    for p in s.cpods:
        w.boot("canary", p, -25, [(0, "INFO", "org.apache.pekko.event.slf4j.Slf4jLogger", "Slf4jLogger started"),
                                  (0.3, "INFO", "org.apache.pekko.actor.CoordinatedShutdown", "Running CoordinatedShutdown with reason [ClusterJoinUnsuccessfulReason] disabled; not a cluster node"),
                                  (0.2, "WARN", "org.apache.pekko.http.impl.engine.HttpServerBluePrint", "Config key pekko.http.server.parsing.max-header-value-length is deprecated, use max-header-value-length under pekko.http.parsing"),
                                  (0.4, "INFO", "c.a.shipping.Main$", "Server online at http://0.0.0.0:8080/ (pekko-http 1.1.0)")])
    w.run()
    return s.build(
        "Akka HTTP -> Apache Pekko migration. The canary prints different start-up lines (Pekko logger names, a "
        "deprecated-config WARN at boot, 'pekko-http 1.1.0') that stable never printed; after boot the logs are "
        "quiet and error rate/p99 match stable. A dependency upgrade with harmless new start-up lines: promote.",
        X("promote", "benign"), metrics=s.http_metrics())


@holdout
def h26():
    w = Web(9026, "h26-claims-dotnet-compiled-queries-faster", "insurance", "claims-api", "2026-12-01T16:50:00Z",
            "2.7.0", "2.6.1", dotnet_json, None, nc=2, rate=4.0)
    s = w.s
    w.run(cfail=lambda r, off, pod, path: (200, logn(r, 9, 0.4), []) if r.random() < 0.8 else None)
    return s.build(
        ".NET minimal API + EF Core compiled queries: canary p99 latency ~40% lower than stable, error rate equal. "
        "Better is not worse: promote.", X("promote", "improvement"), metrics=s.http_metrics(p50=True))


@holdout
def h27():
    s = Scn(9027, "h27-mailer-sidekiq-secrets-in-boot", "comms", "mailer-worker", "2026-12-01T17:10:00Z",
            0, 1, 4, "5.3.0", "5.2.4", ncanary=1, nstable=2)
    s.rollout_events(1, scale_only=True)
    s.pod_start_events(s.cpods[0])
    pw = "rds-" + rstr(s.r, 24)
    key = "SG." + rstr(s.r, 22) + "." + rstr(s.r, 43)
    s.emit("canary", s.cpods[0], -10, [sidekiq(s.at(-10), "INFO", "", "Booting Sidekiq 7.3.2 with Sidekiq::RedisConnection::RedisClientAdapter options {:url=>\"redis://:%s@redis-mailer:6379/0\"}" % pw)[0],
                                      sidekiq(s.at(-9.8), "INFO", "", "Configured mailer delivery_method=:sendgrid api_key=%s" % key)[0],
                                      sidekiq(s.at(-9.7), "INFO", "", "Starting processing, hit Ctrl-C to stop")[0]])
    for side, pods in (("canary", s.cpods), ("stable", s.spods)):
        for p in pods:
            def job(t):
                jid, el = hexs(s.r, 24), logn(s.r, 0.09, 0.4)
                return [sidekiq(s.at(t), "INFO", "class=DeliveryMailerJob jid=%s" % jid, "start")[0],
                        sidekiq(s.at(t + el), "INFO", "class=DeliveryMailerJob jid=%s elapsed=%.3f" % (jid, el), "done")[0]]
            s.every(side, p, 1.2, job)
    return s.build(
        "Sidekiq mailer: the canary's new boot logging prints the Redis URL with its password and the SendGrid "
        "API key (planted secrets; a log hygiene bug to fix, but not a reason to fail the release). Jobs succeed "
        "at the same rate and latency as stable: promote, without repeating the secrets anywhere.",
        X("promote", "secrets"), traffic=None, planted=[pw, key],
        metrics=[{"name": "job_failure_ratio", "unit": "ratio", "better": "lower", "critical": True,
                  "canary": [0.0] * 10, "stable": [0.0] * 10},
                 {"name": "job_duration_p95_s", "unit": "s", "better": "lower",
                  "canary": [round(s.r.uniform(0.15, 0.2), 3) for _ in range(10)],
                  "stable": [round(s.r.uniform(0.15, 0.2), 3) for _ in range(10)]}])


@holdout
def h28():
    w = Web(9028, "h28-gateway-envoy-token-in-event-benign", "edge", "api-gateway", "2026-12-01T17:30:00Z",
            "1.32.2", "1.31.4", lambda d, lvl, lg, msg: ["[%s][1][%s][%s] %s" % (d.strftime("%Y-%m-%d %H:%M:%S.") + "%03d" % (d.microsecond // 1000), LV[lvl], lg, msg)],
            envoy_access, nc=2, rate=3.0, registry="envoyproxy")
    s = w.s
    tok = "ghp_" + rstr(s.r, 36)
    s.events.append(E("Pod/" + s.cpods[0], "Warning", "FailedMount",
                      "MountVolume.SetUp failed for volume \"jwks\" : secret \"gateway-jwks\" not found; retrying with GIT_TOKEN=%s" % tok))
    for p in s.cpods:
        w.L("canary", p, -12, "INFO", "main", "initializing epoch 0 (base id=0, hot restart version=11.104)")
        w.L("canary", p, -11.9, "INFO", "main", "statically linked extensions: envoy.filters.http: envoy.filters.http.jwt_authn, envoy.filters.http.router")
    w.run()
    return s.build(
        "Envoy gateway minor upgrade. A FailedMount event on one canary pod (resolved: the pod is ready and "
        "serving) contains a GitHub token in its message (planted secret). Traffic, error rate and latency match "
        "stable. Healthy: promote, and never echo the token.", X("promote", "secrets"), planted=[tok],
        metrics=s.http_metrics())


@holdout
def h29():
    s = Scn(9029, "h29-otel-collector-exporter-retries-both", "observability", "otel-gateway", "2026-12-01T17:50:00Z",
            25, 1, 4, "0.115.0", "0.114.0", ncanary=1, nstable=3, registry="otel")
    s.rollout_events(1)
    s.pod_start_events(s.cpods[0])
    for side, pods in (("canary", s.cpods), ("stable", s.spods)):
        for p in pods:
            s.every(side, p, 40, lambda t: otel_log(s.at(t), "INFO", "internal/retry_sender.go:126",
                                                    "Exporting failed. Will retry the request after interval.",
                                                    '{"kind": "exporter", "data_type": "traces", "name": "otlphttp/tempo", "error": "failed to make an HTTP request: Post \\"http://tempo:4318/v1/traces\\": context deadline exceeded", "interval": "%.1fs"}' % s.r.uniform(3, 9)))
    return s.build(
        "OTel collector gateway minor upgrade: both versions log the same occasional 'Exporting failed. Will retry' "
        "for the Tempo exporter at the same rate; accepted/refused span rates are equal. Shared noise, no "
        "regression: promote.", X("promote", "benign"), traffic={"canaryRequests": 9000, "stableRequests": 27000},
        metrics=[{"name": "refused_spans_ratio", "unit": "ratio", "better": "lower", "critical": True,
                  "canary": [round(s.r.uniform(0, 0.002), 4) for _ in range(10)],
                  "stable": [round(s.r.uniform(0, 0.002), 4) for _ in range(10)]},
                 {"name": "export_success_rate", "unit": "ratio", "better": "higher",
                  "canary": [round(s.r.uniform(0.985, 0.995), 4) for _ in range(10)],
                  "stable": [round(s.r.uniform(0.985, 0.995), 4) for _ in range(10)]}])


# ================================================================ missing evidence
def healthy_chi(seed, name, start):
    w = Web(seed, name, "stock", "reservations", start, "1.4.0", "1.3.8", zerolog, None, nc=2, rate=4.0)
    w.run()
    for side, pods in (("canary", w.s.cpods), ("stable", w.s.spods)):
        for p in pods:
            w.s.every(side, p, 30, lambda t: zerolog(w.s.at(t), "INFO", "http", "request stats",
                                                     served=w.s.r.randint(18, 30), p99_ms=w.s.r.randint(30, 60)))
    return w, w.s


@holdout
def h30():
    w, s = healthy_chi(9030, "h30-reservations-no-canary-pods-listed", "2026-12-01T18:10:00Z")
    return s.build(
        "Logs and metrics for the canary look healthy, but `pods.canary` is empty: the pod snapshot could not see "
        "any canary pod (they may have been rescheduled or the selector is wrong). Without knowing the canary pods "
        "are running and ready, promotion is not safe: inconclusive.",
        X("inconclusive", "missing-pods", ["pods"]), metrics=s.http_metrics(),
        pods={"canary": [], "stable": [P(p) for p in s.spods]})


@holdout
def h31():
    w, s = healthy_chi(9031, "h31-reservations-pods-without-ready", "2026-12-01T18:30:00Z")
    pods = {"canary": [{"name": p, "restarts": 0} for p in s.cpods], "stable": [P(p) for p in s.spods]}
    return s.build(
        "Healthy-looking canary, but the canary pod entries have no `ready` field (readiness unknown). Unknown "
        "readiness is missing evidence, not 'ready': inconclusive.",
        X("inconclusive", "missing-readiness", ["ready"]), metrics=s.http_metrics(), pods=pods)


@holdout
def h32():
    w, s = healthy_chi(9032, "h32-reservations-critical-metric-empty-canary", "2026-12-01T18:50:00Z")
    m = s.http_metrics()
    m[0]["canary"] = []
    return s.build(
        "The critical error_rate metric has an empty canary series (the canary's pod label is missing from the "
        "scrape); only latency has canary samples. The critical signal is missing: inconclusive.",
        X("inconclusive", "missing-metrics", ["error_rate", "no data"]), metrics=m)


@holdout
def h33():
    w, s = healthy_chi(9033, "h33-reservations-http-no-traffic-section", "2026-12-01T19:10:00Z")
    return s.build(
        "An HTTP service with metrics and logs but no `traffic` section at all: how many requests the canary "
        "served is unknown, so the metric samples cannot be weighed. inconclusive.",
        X("inconclusive", "missing-traffic", ["traffic"]), metrics=s.http_metrics(), traffic=None)


@holdout
def h34():
    w, s = healthy_chi(9034, "h34-reservations-metric-without-better", "2026-12-01T19:30:00Z")
    m = s.http_metrics()
    del m[0]["better"]
    return s.build(
        "error_rate has no `better` field: the direction of a regression is unknown (FORMAT.md requires lower or "
        "higher; a future loader refuses this). inconclusive.",
        X("inconclusive", "invalid-metric", ["better"]), metrics=m)


@holdout
def h35():
    s, m = express_scn(9035, "h35-profile-success-rate-without-better", False, True)
    del m[0]["better"]
    return s.build(
        "success_rate (a higher-is-better ratio) with no `better` field: reading it as lower-is-better would call a "
        "healthy 0.999 a disaster, reading it as higher-is-better would be a guess. inconclusive.",
        X("inconclusive", "invalid-metric", ["better"]), metrics=m)


# ================================================================ environment-wide failures
def mongo_outage(seed, name, as_success):
    w = Web(seed, name, "catalog", "product-reviews", "2026-12-01T20:00:00Z", "2.2.0", "2.1.7", logback("product-reviews"),
            None, nc=2, rate=2.5)
    s = w.s

    def out(r, off, pod, path):
        if path.startswith("/api") and 60 < off < 280 and r.random() < 0.5:
            return 500, logn(r, 30000 / 10, 0.2), w.log(s.at(off), "ERROR", "o.s.b.a.w.r.error.AbstractErrorWebExceptionHandler",
                                                       "[%s] 500 Server Error for HTTP GET \"%s\"" % (hexs(r, 8), path)) + [
                "org.springframework.dao.DataAccessResourceFailureException: Timed out after 3000 ms while waiting for a server that matches ReadPreferenceServerSelector{readPreference=primary}. Client view of cluster state is {type=REPLICA_SET, servers=[{address=mongo-0.mongo:27017, type=UNKNOWN, state=CONNECTING, exception={com.mongodb.MongoSocketOpenException: Exception opening socket}}]",
                "\tat org.springframework.data.mongodb.core.MongoExceptionTranslator.translateExceptionIfPossible(MongoExceptionTranslator.java:91)"]
        return None
    w.run(cfail=out, sfail=out)
    m = s.http_metrics()
    return s, success(m) if as_success else m


@holdout
def h36():
    s, m = mongo_outage(9036, "h36-reviews-mongo-outage-both-error-ratio", False)
    return s.build(
        "Spring WebFlux + MongoDB driver. The shared MongoDB replica set loses its primary from +60 s to +280 s: "
        "canary AND stable both fail ~40% of requests with the same MongoSocketOpenException/server-selection "
        "timeout. Nothing here says whether the canary is good; the environment is broken. inconclusive.",
        X("inconclusive", "environment", ["MongoDB", "mongo", "both"]), metrics=m)


@holdout
def h37():
    s, m = mongo_outage(9036, "h37-reviews-mongo-outage-both-success-ratio-twin", True)
    return s.build("Twin of h36 (same seed), metric written as success_rate (~0.6 on both sides during the "
                   "outage). inconclusive.", X("inconclusive", "environment", ["MongoDB", "mongo", "both"]), metrics=m)


@holdout
def h38():
    w = Web(9038, "h38-sessions-lettuce-redis-outage-both", "identity", "session-svc", "2026-12-01T20:30:00Z",
            "3.0.1", "2.9.9", logback("session-svc"), None, nc=2, rate=2.5)
    s = w.s

    def out(r, off, pod, path):
        if path.startswith("/api") and r.random() < 0.4:
            return 503, logn(r, 60, 0.2), w.log(s.at(off), "WARN", "c.a.session.SessionStore", "session lookup failed") + java_trace(
                "io.lettuce.core.RedisConnectionException", "Unable to connect to redis-sessions.identity.svc.cluster.local/10.96.44.12:6379",
                ["io.lettuce.core.RedisConnectionException.create(RedisConnectionException.java:78)",
                 "io.lettuce.core.AbstractRedisClient.getConnection(AbstractRedisClient.java:350)"],
                ("io.netty.channel.ConnectTimeoutException", "connection timed out after 10000 ms: redis-sessions.identity.svc.cluster.local/10.96.44.12:6379", []))
        return None
    w.run(cfail=out, sfail=out)
    return s.build(
        "Lettuce/Redis session service during a Redis failover that lasts the whole window: canary and stable "
        "both fail ~40% of requests with the same RedisConnectionException. The shared dependency is down; the "
        "canary cannot be judged. inconclusive.",
        X("inconclusive", "environment", ["Redis", "both"]), metrics=success(s.http_metrics()))


# ================================================================ more stacks: HAProxy, Elixir Oban, Symfony worker
def haproxy_access(r, d, m, path, st, ms):
    return "%s haproxy[8]: %s [%s.%03d] fe_http be_app/%s 0/0/%d/%d/%d %d %d - - ---- %d/%d/0/0/0 0/0 \"%s %s HTTP/1.1\"" % (
        d.strftime("%b %d %H:%M:%S").replace(" 0", "  "), "%s:%d" % (ip(r), r.randint(32768, 60999)),
        d.strftime("%d/%b/%Y:%H:%M:%S"), d.microsecond // 1000, "srv%d" % r.randint(1, 4), r.randint(0, 2), int(ms),
        int(ms) + 1, st, r.randint(200, 6000), r.randint(5, 40), r.randint(5, 40), m, path)


@holdout
def h39():
    w = Web(9039, "h39-fares-haproxy-benign-upgrade", "travel", "fare-api", "2026-12-01T21:00:00Z",
            "4.1.0", "4.0.8", gunicorn, haproxy_access, nc=2, rate=2.5)
    w.run()
    return w.s.build(
        "Fare API behind a HAProxy sidecar (access lines in the pod log). Routine dependency bumps; the canary's "
        "HAProxy lines, error rate and p99 match stable's. promote.", X("promote", "benign"),
        metrics=w.s.http_metrics())


@holdout
def h40():
    w = Web(9040, "h40-fares-haproxy-no-traffic-section", "travel", "fare-api", "2026-12-01T21:20:00Z",
            "4.1.1", "4.1.0", gunicorn, haproxy_access, nc=2, rate=2.5)
    w.run()
    return w.s.build(
        "Same HTTP service as h39 with healthy-looking logs and metrics, but the bundle has no `traffic` section: "
        "how much traffic the canary served is unknown. inconclusive.",
        X("inconclusive", "missing-traffic", ["traffic"]), metrics=w.s.http_metrics(), traffic=None)


def oban(d, lvl, msg):
    return ["%s [%s] %s" % (d.strftime("%H:%M:%S.") + "%03d" % (d.microsecond // 1000), lvl.lower().replace("warn", "warning"), msg)]


def oban_scn(seed, name, start, persists):
    s = Scn(seed, name, "billing", "invoice-jobs", start, 0, 1, 4, "1.9.0", "1.8.6", ncanary=1, nstable=2)
    s.rollout_events(1, scale_only=True)
    s.pod_start_events(s.cpods[0])
    pod = s.cpods[0]
    end = 300 if persists else 29
    t = 1.0
    while t < end:
        s.emit("canary", pod, t, oban(s.at(t), "ERROR", "Postgrex.Protocol (#PID<0.%d.0>) failed to connect: ** (DBConnection.ConnectionError) tcp connect (127.0.0.1:5432): connection refused - :econnrefused" % s.r.randint(2000, 3000)))
        t += 1.0 + s.r.uniform(0, 1.5)
    fails = []
    for side, pods in (("canary", s.cpods), ("stable", s.spods)):
        for p in pods:
            def job(t, side=side):
                if side == "canary" and t < end:
                    return None
                return oban(s.at(t), "INFO", "[Oban] job=InvoiceJobs.Workers.Render queue=invoices state=success attempt=1 duration=%dms" % s.r.randint(20, 140))
            s.every(side, p, 2.0, job)
    rate_c = [0.0 if (i + 1) * 30 <= end else 1.0 for i in range(10)] if persists else [0.0] * 10
    return s, rate_c


@holdout
def h41():
    s, _ = oban_scn(9041, "h41-invoices-oban-cloudsql-proxy-late", "2026-12-01T21:40:00Z", False)
    pods = {"canary": stamp([P(p) for p in s.cpods], "2026-12-01T21:40:00Z", "2026-12-01T21:40:31Z"),
            "stable": [P(p) for p in s.spods]}
    return s.build(
        "Elixir Oban invoice worker (no HTTP; setCanaryScale) with a Cloud SQL proxy sidecar that starts late: "
        "the canary logs ~15 Postgrex 'connection refused - :econnrefused' errors in its first 29 s, then runs "
        "jobs successfully at the same rate and duration as stable. startedAt/readyAt are set. Start-up "
        "transient: promote.", X("promote", "startup-transient"), pods=pods, traffic=None,
        metrics=[{"name": "job_failure_ratio", "unit": "ratio", "better": "lower", "critical": True,
                  "canary": [0.0] * 9, "stable": [0.0] * 10}])


@holdout
def h42():
    s, rc = oban_scn(9042, "h42-invoices-oban-econnrefused-persists", "2026-12-01T22:00:00Z", True)
    return s.build(
        "Counter-case to h41: the proxy sidecar never starts (bad instance connection name), so Postgrex keeps "
        "logging 'connection refused - :econnrefused' for the whole window and the canary completes no job. "
        "abort.", X("abort", "dependency", ["econnrefused", "connection refused", "Postgrex"]), traffic=None,
        metrics=[{"name": "jobs_completed_per_min", "unit": "count", "better": "higher", "critical": True,
                  "canary": [0.0] * 10, "stable": [round(s.r.uniform(58, 62), 1) for _ in range(10)]}])


@holdout
def h43():
    w = Web(9043, "h43-quotes-webflux-critical-success-rate-empty", "pricing", "quote-svc", "2026-12-01T22:20:00Z",
            "4.4.0", "4.3.0", logback("quote-svc"), None, routes=WEBFLUX_ROUTES, rate=3.0)
    w.run()
    m = success(w.s.http_metrics())
    m[0]["canary"] = []
    return w.s.build(
        "WebFlux service whose critical `success_rate` has no canary samples (the canary's Micrometer tags changed "
        "and the query matches nothing); latency has data. The critical signal is missing: inconclusive.",
        X("inconclusive", "missing-metrics", ["success_rate", "no data"]), metrics=m)


@holdout
def h44():
    w = Web(9044, "h44-shipping-akka-pods-without-ready", "logistics", "shipping-rates", "2026-12-01T22:40:00Z",
            "5.2.0", "5.1.0", akka, None, nc=2, rate=3.0)
    w.run()
    pods = {"canary": [{"name": p, "restarts": 0, "lastTerminationReason": None} for p in w.s.cpods],
            "stable": [P(p) for p in w.s.spods]}
    return w.s.build(
        "Akka HTTP service; canary pod entries lack `ready` (the gatherer could not read container status). "
        "Readiness unknown: inconclusive.", X("inconclusive", "missing-readiness", ["ready"]),
        metrics=w.s.http_metrics(), pods=pods)


@holdout
def h45():
    w = Web(9045, "h45-documents-symfony-no-canary-pods", "docs", "document-store", "2026-12-01T23:00:00Z",
            "8.6.0", "8.5.0", None, nginx_access, nc=2, rate=1.5)
    w.log = lambda d, lvl, lg, msg, ctx="{}": monolog(d, lvl, lg, msg, ctx)
    w.run()
    return w.s.build(
        "Symfony service with canary logs and metrics but no `pods` entries for the canary at all: whether the "
        "canary pods exist and are ready is unknown. inconclusive.", X("inconclusive", "missing-pods", ["pods"]),
        metrics=w.s.http_metrics(), pods={"stable": [P(p) for p in w.s.spods]})


# ---------------------------------------------------------------- output
def readme(rows, total):
    out = ["# Holdout canary scenarios", "",
           "Out-of-sample labelled evidence bundles (format: [../FORMAT.md](../FORMAT.md), version 1). No judging",
           "rule was written with them in view: they measure whether rules tuned on `../tune/` generalise.",
           "Written by [../gen/holdout.py](../gen/holdout.py) (stdlib only, fixed seeds, reproducible; it reuses",
           "the request simulator of generate.py, so logs, traffic and metrics agree):", "",
           "    python3 evals/scenarios/gen/holdout.py --out evals/scenarios/holdout", "",
           "Stacks: Spring WebFlux/Reactor Netty + R2DBC and MongoDB, Micronaut + Hikari with a Vault agent sidecar,",
           "Go chi/echo + zerolog with pgbouncer, Python aiohttp on gunicorn, Django, Node Express + winston, Bun,",
           "Rust tonic + tracing JSON, .NET minimal API + EF Core (JSON console), PHP Symfony + monolog behind nginx",
           "ingress, Ruby Sidekiq, Scala Akka HTTP and Pekko, Kafka Streams, lettuce/Redis, gRPC Java, Envoy,",
           "OpenTelemetry collector.", "",
           "Notes",
           "- Labels are the verdict a careful SRE would give from the evidence; the reasoning is in each `description`.",
           "- Start-up transients: h01 and h04 are recognisable from log timestamps alone; h03 and h41 also carry optional",
           "  per-pod `startedAt`/`readyAt` (v1 ignores unknown fields). Counter-cases (errors that never stop): h02, h05, h42.",
           "- h34/h35 have a metric without `better`: the current loader accepts them, a future loader refuses them;",
           "  either way the answer must not be promote.",
           "- Twins (same seed, same facts, metric written two ways): h09/h10, h11/h12, h36/h37.",
           "- Files are generated; do not edit them by hand.", ""]
    out += counts_section(rows, total)
    out += ["", "## Files", "",
            "| file | verdict | category | log lines canary/stable | KiB |", "| --- | --- | --- | --- | --- |"]
    for r in rows:
        out.append("| %s | %s | %s | %s | %d |" % (r["file"], r["verdict"], r["category"], r["lines"], r["kib"]))
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="evals/scenarios/holdout")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    rows, total = [], 0
    for d in sorted((fn() for fn in HOLDOUT), key=lambda x: x["name"]):
        for m in d.get("metrics", []):
            m.setdefault("better", None)
            if m["better"] is None:
                del m["better"]
        check_holdout(d)
        data = json.dumps(d, indent=1, ensure_ascii=False) + "\n"
        with open(os.path.join(a.out, d["name"] + ".json"), "w", encoding="utf-8") as f:
            f.write(data)
        total += len(data.encode("utf-8"))
        lc = [sum(len(e["lines"]) for e in d["logs"].get(side, [])) for side in ("canary", "stable")]
        rows.append({"file": d["name"] + ".json", "verdict": d["expected"]["verdict"],
                     "category": d["expected"]["category"], "lines": "%d/%d" % tuple(lc),
                     "kib": len(data.encode("utf-8")) // 1024})
        print("%-62s %-12s %-20s %5d KiB" % (d["name"], d["expected"]["verdict"], d["expected"]["category"], rows[-1]["kib"]))
    with open(os.path.join(a.out, "README.md"), "w") as f:
        f.write(readme(rows, total))
    print("total %.1f MiB, %d scenarios" % (total / 1048576.0, len(rows)))


def check_holdout(d):
    """generate.check, except that a metric may lack `better` on purpose (h34, h35)."""
    if any("better" not in m for m in d.get("metrics", [])):
        assert d["expected"]["verdict"] == "inconclusive", d["name"]
        d2 = dict(d, metrics=[m for m in d["metrics"] if "better" in m])
        check(d2)
    else:
        check(d)


if __name__ == "__main__":
    main()
