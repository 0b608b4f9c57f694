-- Queue review items for open alerts: once per alert, and at most one open item per
-- (reason, entity) — the partial unique index on dedup_key settles concurrent writers.
--   %(reasons)s: alert types queued whole — rules never corrected automatically, and the
--       triggers' session_outcome_conflict;
--   %(picked)s: JSON list of (fingerprint, why) of findings a correction found no safe fix for.
-- The reason is the alert type, so the hourly re-check knows which rule to run; priority by
-- BEHAVIOUR §B.5 (%(priorities)s, anything else 5). A call item carries call_id (which must
-- exist: foreign key), an appointment item appointment_id; the context is the alert's metadata,
-- which holds ids and flags only. Every new item gets its 'queued' history row.
WITH picked AS (
    SELECT * FROM jsonb_to_recordset(%(picked)s::jsonb) AS p (fingerprint text, why text)
), source AS (
    SELECT al.id, al.alert_type, al.severity, al.entity_type, al.entity_id, al.company_id,
           al.metadata, NULL::text AS why
      FROM data_consistency_alerts al
     WHERE al.resolved_at IS NULL
       AND al.alert_type = ANY (%(reasons)s)
    UNION ALL
    SELECT al.id, al.alert_type, al.severity, al.entity_type, al.entity_id, al.company_id,
           al.metadata, p.why
      FROM picked p
      JOIN data_consistency_alerts al ON al.fingerprint = p.fingerprint AND al.resolved_at IS NULL
), fresh AS (
    SELECT DISTINCT ON (s.alert_type, s.entity_type, s.entity_id) s.*
      FROM source s
     WHERE s.entity_type IN ('call', 'appointment')
       AND s.entity_id IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM manual_review_queue q WHERE q.alert_id = s.id)
     ORDER BY s.alert_type, s.entity_type, s.entity_id, s.id DESC
), queued AS (
    INSERT INTO manual_review_queue
           (company_id, call_id, appointment_id, retell_call_id, reason, priority, dedup_key,
            context, alert_id)
    SELECT f.company_id,
           c.id,
           CASE WHEN f.entity_type = 'appointment' THEN f.entity_id END,
           c.retell_call_id,
           f.alert_type,
           coalesce((%(priorities)s::jsonb ->> f.alert_type)::int, 5),
           f.alert_type || ':' || f.entity_type || ':' || f.entity_id,
           jsonb_strip_nulls(jsonb_build_object('severity', f.severity, 'why', f.why,
                                                'finding', f.metadata)),
           f.id
      FROM fresh f
      LEFT JOIN calls c ON f.entity_type = 'call' AND c.id = f.entity_id
     WHERE f.entity_type = 'appointment' OR c.id IS NOT NULL
    ON CONFLICT (dedup_key) WHERE status IN ('pending', 'in_progress') AND dedup_key IS NOT NULL
    DO NOTHING
    RETURNING id
)
INSERT INTO manual_review_history (item_id, action, status, actor)
SELECT id, 'queued', 'pending', %(actor)s FROM queued
