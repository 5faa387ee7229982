-- rollwise history: analyses, their notifications, remediation PRs and the
-- claims replicas take before analysing or remediating.
--
-- Written in the subset SQLite and PostgreSQL both accept, so the same file
-- runs on both: BIGINT and TEXT only (JSON is TEXT, booleans are 0/1,
-- confidence is an integer 0-100), no AUTOINCREMENT/SERIAL, explicit keys.
-- Applied once, inside a transaction, and recorded in schema_migrations with
-- its SHA-256: never edit this file once released; add 0002_*.sql instead.

CREATE TABLE analyses (
    id TEXT PRIMARY KEY,
    -- SHA-256 of the request that started it (endpoint, rollout, hashes,
    -- window, overrides); NULL for bundles sent to /v1/verdicts.
    analysis_key TEXT,
    origin TEXT NOT NULL,
    namespace TEXT NOT NULL,
    rollout TEXT NOT NULL,
    -- The canary's pod-template hash (or the git revision when unknown).
    revision TEXT NOT NULL,
    verdict TEXT NOT NULL,
    confidence BIGINT NOT NULL,
    created_ms BIGINT NOT NULL,
    -- The record (verdict, evidence without log lines) as JSON.
    record_json TEXT NOT NULL,
    -- The log template diff with redacted exemplars, as JSON.
    templates_json TEXT,
    -- Links that arrive later: the draft PR and the agent's transcript.
    pr_json TEXT,
    transcript_json TEXT
);

CREATE INDEX analyses_created ON analyses (created_ms DESC, id DESC);
CREATE INDEX analyses_rollout ON analyses (namespace, rollout, created_ms DESC);
CREATE INDEX analyses_verdict ON analyses (verdict, created_ms DESC);
CREATE INDEX analyses_key ON analyses (analysis_key, created_ms DESC);

-- One row per notification outcome (Slack message or follow-up), in order.
CREATE TABLE notifications (
    analysis_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    channel TEXT NOT NULL,
    ok BIGINT NOT NULL,
    detail TEXT NOT NULL,
    thread_ts TEXT,
    created_ms BIGINT NOT NULL,
    PRIMARY KEY (analysis_id, seq)
);

-- One draft PR per revision of a Rollout. Kept past the analyses' retention:
-- remediation dedupe outlives the page.
CREATE TABLE prs (
    namespace TEXT NOT NULL,
    rollout TEXT NOT NULL,
    revision TEXT NOT NULL,
    url TEXT NOT NULL,
    number BIGINT NOT NULL,
    repo TEXT NOT NULL,
    analysis_id TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    PRIMARY KEY (namespace, rollout, revision)
);

-- Leases: `analyze/<key>` and `remediate/<ns>/<rollout>/<revision>`. A claim
-- is held until expires_ms; a holder may renew its own.
CREATE TABLE claims (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    expires_ms BIGINT NOT NULL
);
