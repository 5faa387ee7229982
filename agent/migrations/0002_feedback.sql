-- People's judgements of verdicts (Slack buttons, the verdict page, the API),
-- append-only, in order: the latest is the analysis's label. `feedback_json`
-- is the entry as JSON (expected verdict, whether the verdict was right, the
-- redacted reason, who and through what).

CREATE TABLE feedback (
    analysis_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    feedback_json TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    PRIMARY KEY (analysis_id, seq)
);
