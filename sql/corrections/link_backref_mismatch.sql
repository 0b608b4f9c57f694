-- link_backref_mismatch: the call's appointment_id points to an appointment that is missing,
-- soft-deleted or another call's. It is repaired from the appointment side: set to the one live
-- appointment of its company that points to the call, or cleared when none does and the call
-- does not claim a booking. Several candidates, or none for a call flagged appointment_made,
-- go to review. appointment_id is not watched by the calls UPDATE trigger.
owned AS (
    SELECT b.entity_id AS call_id, min(a.id) AS appointment_id, count(*) AS appointments
      FROM batch b
      JOIN appointments a ON a.call_id = b.entity_id AND a.company_id = b.company_id
     WHERE a.deleted_at IS NULL
     GROUP BY b.entity_id
), checked AS (
    SELECT c.id AS entity_id, c.company_id, o.appointment_id AS repaired,
           jsonb_build_object('appointment_id', c.appointment_id) AS before,
           jsonb_build_object('appointment_id', o.appointment_id) AS after,
           CASE WHEN o.appointments > 1 THEN 'several live appointments point to this call'
                WHEN o.appointments IS NULL AND c.appointment_made
                THEN 'flagged appointment_made, but no live appointment points to this call'
           END AS why
      FROM calls c
      JOIN batch b ON b.entity_id = c.id AND b.company_id = c.company_id
      LEFT JOIN owned o ON o.call_id = c.id
     WHERE c.deleted_at IS NULL
       AND c.appointment_id IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM appointments a
                        WHERE a.id = c.appointment_id
                          AND a.call_id = c.id
                          AND a.deleted_at IS NULL)
    {lock_calls}
), applied AS (
    UPDATE calls c
       SET appointment_id = k.repaired, updated_at = now()
      FROM checked k
     WHERE c.id = k.entity_id AND k.why IS NULL AND %(apply)s
    RETURNING c.id AS entity_id, k.company_id, k.before, k.after
)
