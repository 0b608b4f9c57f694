-- Bookkeeping of the consistency monitor: its runs (the incremental window starts where the last
-- successful run started) and the findings of each run, which the Great Expectations suite
-- validates and the alert writer reads. Findings are transient (kept for the last runs only), so
-- the table is UNLOGGED: no WAL for data that a crash simply makes the next run recompute.

CREATE TABLE bg_check_runs (
    id              bigserial PRIMARY KEY,
    mode            text NOT NULL CHECK (mode IN ('full', 'incremental')),
    window_start    timestamptz,
    started_at      timestamptz NOT NULL DEFAULT now(),
    finished_at     timestamptz,
    status          text NOT NULL DEFAULT 'running'
                    CHECK (status IN ('running', 'succeeded', 'failed')),
    findings        integer,
    summary         jsonb
);
CREATE INDEX bg_check_runs_status_started_idx ON bg_check_runs (status, started_at);

CREATE UNLOGGED TABLE bg_rule_findings (
    run_id        bigint NOT NULL REFERENCES bg_check_runs (id) ON DELETE CASCADE,
    rule_id       text NOT NULL,
    entity_type   text NOT NULL,
    entity_id     bigint NOT NULL,
    company_id    bigint,
    column_name   text,
    detail        jsonb
);
CREATE INDEX bg_rule_findings_run_rule_idx ON bg_rule_findings (run_id, rule_id);

-- Notification throttle when Redis is down: one row per (rule, company) with the time until which
-- further messages are held back. Claimed with one conditional upsert, so it is atomic too.
CREATE TABLE bg_notification_throttle (
    throttle_key  text PRIMARY KEY,
    until         timestamptz NOT NULL
);
