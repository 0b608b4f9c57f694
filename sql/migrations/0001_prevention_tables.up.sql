-- booking-guard prevention tables (BEHAVIOUR §D, with company_id, deduplication and delivery state).

-- Refuse, naming what is missing, rather than create half a system on a database that is not the app's.
DO $$
DECLARE
    missing text;
BEGIN
    WITH need (tbl, col) AS (
        VALUES ('calls', 'id'), ('calls', 'company_id'), ('calls', 'retell_call_id'),
               ('calls', 'direction'), ('calls', 'appointment_made'), ('calls', 'appointment_id'),
               ('calls', 'session_outcome'), ('calls', 'appointment_link_status'),
               ('calls', 'customer_link_status'), ('calls', 'booking_failed'),
               ('calls', 'created_at'), ('calls', 'updated_at'), ('calls', 'deleted_at'),
               ('appointments', 'id'), ('appointments', 'company_id'),
               ('appointments', 'call_id'), ('appointments', 'calcom_v2_booking_id'),
               ('appointments', 'source'), ('appointments', 'created_at'),
               ('appointments', 'updated_at'), ('appointments', 'deleted_at')
    ), absent AS (
        SELECT need.tbl, need.col,
               to_regclass(format('%I.%I', current_schema(), need.tbl)) IS NULL AS no_table
          FROM need
         WHERE NOT EXISTS (
                SELECT 1
                  FROM information_schema.columns c
                 WHERE c.table_schema = current_schema()
                   AND c.table_name = need.tbl
                   AND c.column_name = need.col)
    )
    SELECT string_agg(item, ', ' ORDER BY item)
      INTO missing
      FROM (SELECT DISTINCT CASE WHEN no_table THEN 'table ' || tbl ELSE tbl || '.' || col END
              FROM absent) AS named (item);
    IF missing IS NOT NULL THEN
        RAISE EXCEPTION 'the app schema is incomplete, missing %', missing
            USING HINT = 'booking-guard migrates a booking-app database; for a demo one, run booking-guard app-schema first';
    END IF;
END
$$;

CREATE TABLE circuit_breaker_states (
    id               bigserial PRIMARY KEY,
    company_id       bigint,
    circuit_key      varchar(255) NOT NULL UNIQUE,
    state            text NOT NULL DEFAULT 'closed'
                     CHECK (state IN ('closed', 'open', 'half_open')),
    failure_count    integer NOT NULL DEFAULT 0 CHECK (failure_count >= 0),
    success_count    integer NOT NULL DEFAULT 0 CHECK (success_count >= 0),
    last_failure_at  timestamptz,
    opened_at        timestamptz,
    closed_at        timestamptz,
    metadata         jsonb,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX circuit_breaker_states_state_idx ON circuit_breaker_states (state, opened_at);
CREATE INDEX circuit_breaker_states_last_failure_idx ON circuit_breaker_states (last_failure_at);

CREATE TABLE data_consistency_alerts (
    id                bigserial PRIMARY KEY,
    company_id        bigint,
    alert_type        text NOT NULL,
    severity          text NOT NULL DEFAULT 'warning'
                      CHECK (severity IN ('critical', 'warning', 'info')),
    entity_type       text NOT NULL,
    entity_id         bigint,
    column_name       text,
    -- (rule, entity[, column]): one open alert per fingerprint; NULL for audit rows
    -- (auto-corrections, rollbacks) that are recorded, not tracked.
    fingerprint       text,
    description       text NOT NULL,
    metadata          jsonb,
    detected_at       timestamptz NOT NULL DEFAULT now(),
    last_seen_at      timestamptz NOT NULL DEFAULT now(),
    resolved_at       timestamptz,
    notified_at       timestamptz,
    auto_corrected    boolean NOT NULL DEFAULT false,
    corrected_at      timestamptz,
    resolution_notes  text,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    CHECK (resolved_at IS NULL OR resolved_at >= detected_at),
    CHECK (NOT auto_corrected OR corrected_at IS NOT NULL)
) WITH (fillfactor = 80);  -- room on each page, so "seen again" updates stay HOT
CREATE UNIQUE INDEX data_consistency_alerts_open_fingerprint_key
    ON data_consistency_alerts (fingerprint)
    WHERE resolved_at IS NULL AND fingerprint IS NOT NULL;
CREATE INDEX data_consistency_alerts_type_detected_idx
    ON data_consistency_alerts (alert_type, detected_at);
CREATE INDEX data_consistency_alerts_severity_detected_idx
    ON data_consistency_alerts (severity, detected_at);
CREATE INDEX data_consistency_alerts_company_detected_idx
    ON data_consistency_alerts (company_id, detected_at);
CREATE INDEX data_consistency_alerts_entity_idx
    ON data_consistency_alerts (entity_type, entity_id);
CREATE INDEX data_consistency_alerts_detected_idx ON data_consistency_alerts (detected_at);
CREATE INDEX data_consistency_alerts_unnotified_idx
    ON data_consistency_alerts (alert_type, company_id)
    WHERE notified_at IS NULL AND resolved_at IS NULL;

CREATE TABLE manual_review_queue (
    id                bigserial PRIMARY KEY,
    company_id        bigint,
    call_id           bigint REFERENCES calls (id) ON DELETE CASCADE,
    appointment_id    bigint,
    retell_call_id    text,
    reason            varchar(255) NOT NULL,
    priority          integer NOT NULL DEFAULT 5 CHECK (priority BETWEEN 1 AND 5),
    status            text NOT NULL DEFAULT 'pending'
                      CHECK (status IN ('pending', 'in_progress', 'resolved', 'dismissed')),
    -- one open item per (reason, entity): re-queueing the same problem does not add a row
    dedup_key         text,
    context           jsonb,
    assigned_to       bigint,
    assigned_at       timestamptz,
    escalated_at      timestamptz,
    resolved_at       timestamptz,
    resolution_notes  text,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    CHECK (call_id IS NOT NULL OR appointment_id IS NOT NULL),
    CHECK ((status IN ('resolved', 'dismissed')) = (resolved_at IS NOT NULL))
);
CREATE UNIQUE INDEX manual_review_queue_open_dedup_key
    ON manual_review_queue (dedup_key)
    WHERE status IN ('pending', 'in_progress') AND dedup_key IS NOT NULL;
CREATE INDEX manual_review_queue_status_priority_idx
    ON manual_review_queue (status, priority, created_at);
CREATE INDEX manual_review_queue_status_created_idx ON manual_review_queue (status, created_at);
CREATE INDEX manual_review_queue_call_idx ON manual_review_queue (call_id);
CREATE INDEX manual_review_queue_company_idx ON manual_review_queue (company_id, status);
CREATE INDEX manual_review_queue_assigned_idx ON manual_review_queue (assigned_to);
