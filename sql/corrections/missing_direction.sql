-- missing_direction: a live call without a direction becomes 'inbound', the default the insert
-- trigger applies. The calls UPDATE trigger watches customer_id, session_outcome and
-- appointment_made only: this write does not wake it, so the audit row of _batch.sql is the
-- only one.
checked AS (
    SELECT c.id AS entity_id, c.company_id,
           jsonb_build_object('direction', c.direction) AS before,
           jsonb_build_object('direction', 'inbound') AS after,
           NULL::text AS why
      FROM calls c
      JOIN batch b ON b.entity_id = c.id AND b.company_id = c.company_id
     WHERE c.deleted_at IS NULL
       AND (c.direction IS NULL OR c.direction = '')
    {lock_calls}
), applied AS (
    UPDATE calls c
       SET direction = 'inbound', updated_at = now()
      FROM checked k
     WHERE c.id = k.entity_id AND k.why IS NULL AND %(apply)s
    RETURNING c.id AS entity_id, k.company_id, k.before, k.after
)
