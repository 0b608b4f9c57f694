-- orphaned_appointment: a webhook appointment without its call is linked to the call when
-- exactly one live call of its company identifies it — the call's appointment_id points at it,
-- the appointment's metadata names the call's id or retell_call_id, or the call kept its booking
-- id (BEHAVIOUR §B.5) — and that call has no live appointment and no other orphan claims it.
-- Anything else goes to review.
-- Linking wakes the appointments UPDATE trigger, which re-derives the call (flag, appointment_id,
-- link status, outcome) and writes its own audit row for the call (appointment_linked); the audit
-- row of _batch.sql covers the appointment's call_id only, so no change is audited twice. The
-- call is locked too (SKIP LOCKED), so that the trigger's write never waits for the app.
-- Plans: calls.appointment_id has no index, so that leg is one pass over calls per batch with the
-- batch's ids in a hash; every other step starts from a small CTE and probes an index.
orphan AS MATERIALIZED (
    SELECT a.id, a.company_id, a.calcom_v2_booking_id, a.metadata
      FROM appointments a
      JOIN batch b ON b.entity_id = a.id AND b.company_id = a.company_id
), pointing AS MATERIALIZED (
    SELECT c.id, c.appointment_id, c.company_id
      FROM calls c
     WHERE c.appointment_id = ANY (%(entity_ids)s::bigint[]) AND c.deleted_at IS NULL
), identifies AS (
    SELECT o.id AS appointment_id, o.company_id, NULL::bigint AS call_id FROM orphan o
    UNION
    SELECT o.id, o.company_id, c.id
      FROM pointing c JOIN orphan o ON o.id = c.appointment_id AND o.company_id = c.company_id
    UNION
    SELECT o.id, o.company_id, c.id
      FROM orphan o
      JOIN calls c ON c.id = CASE WHEN o.metadata ->> 'call_id' ~ '^[0-9]+$'
                                       AND length(o.metadata ->> 'call_id') < 19
                                  THEN (o.metadata ->> 'call_id')::bigint END
     WHERE c.company_id = o.company_id AND c.deleted_at IS NULL
    UNION
    SELECT o.id, o.company_id, c.id
      FROM orphan o JOIN calls c ON c.retell_call_id = o.metadata ->> 'retell_call_id'
     WHERE c.company_id = o.company_id AND c.deleted_at IS NULL
    UNION
    SELECT o.id, o.company_id, c.id
      FROM orphan o JOIN calls c ON c.booking_id = o.calcom_v2_booking_id
     WHERE o.calcom_v2_booking_id <> '' AND c.company_id = o.company_id AND c.deleted_at IS NULL
), candidate AS MATERIALIZED (
    -- one row per orphan: how many calls identify it, and the one when it is one
    SELECT g.appointment_id, g.company_id, g.call_id, g.calls,
           count(g.call_id) OVER (PARTITION BY g.call_id) AS orphans,
           EXISTS (SELECT 1 FROM appointments x
                    WHERE x.call_id = g.call_id AND x.deleted_at IS NULL) AS taken
      FROM (SELECT appointment_id, company_id, min(call_id) AS call_id, count(call_id) AS calls
              FROM identifies GROUP BY appointment_id, company_id) AS g
), checked AS (
    SELECT a.id AS entity_id, a.company_id, k.call_id,
           jsonb_build_object('call_id', a.call_id) AS before,
           jsonb_build_object('call_id', k.call_id) AS after,
           CASE WHEN k.calls = 0 THEN 'no live call of its company identifies it'
                WHEN k.calls > 1 THEN 'several live calls of its company identify it'
                WHEN k.orphans > 1 THEN 'its call is identified by other orphans too'
                WHEN k.taken THEN 'its call already has a live appointment' END AS why
      FROM candidate k
      JOIN appointments a ON a.id = k.appointment_id AND a.company_id = k.company_id
     WHERE a.deleted_at IS NULL
       AND a.call_id IS NULL
       AND a.source = 'retell_webhook'
    {lock_appointments}
), call_locked AS (
    SELECT k.entity_id, k.company_id, k.call_id, k.before, k.after
      FROM checked k
      JOIN calls c ON c.id = k.call_id AND c.company_id = k.company_id
     WHERE k.why IS NULL AND c.deleted_at IS NULL
    {lock_calls}
), applied AS (
    UPDATE appointments a
       SET call_id = l.call_id, updated_at = now()
      FROM call_locked l
     WHERE a.id = l.entity_id AND %(apply)s
    RETURNING a.id AS entity_id, l.company_id, l.before, l.after
)
