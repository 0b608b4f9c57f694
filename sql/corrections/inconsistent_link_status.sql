-- inconsistent_link_status: flag true, link status not 'linked'. It becomes 'linked' (with
-- appointment_linked_at kept, or now) when a live appointment of the same company points to the
-- call. Without one the call is a missing_appointment finding, queued for review under that rule,
-- so it is left alone here. appointment_link_status is not watched by the calls UPDATE trigger.
checked AS (
    SELECT c.id AS entity_id, c.company_id,
           jsonb_build_object('appointment_link_status', c.appointment_link_status,
                              'appointment_linked_at', c.appointment_linked_at) AS before,
           jsonb_build_object('appointment_link_status', 'linked',
                              'appointment_linked_at', coalesce(c.appointment_linked_at, now()))
               AS after,
           NULL::text AS why
      FROM calls c
      JOIN batch b ON b.entity_id = c.id AND b.company_id = c.company_id
     WHERE c.deleted_at IS NULL
       AND c.appointment_made
       AND c.appointment_link_status IS DISTINCT FROM 'linked'
       AND EXISTS (SELECT 1 FROM appointments a
                    WHERE a.call_id = c.id
                      AND a.company_id = c.company_id
                      AND a.deleted_at IS NULL)
    {lock_calls}
), applied AS (
    UPDATE calls c
       SET appointment_link_status = 'linked',
           appointment_linked_at = coalesce(c.appointment_linked_at, now()),
           updated_at = now()
      FROM checked k
     WHERE c.id = k.entity_id AND k.why IS NULL AND %(apply)s
    RETURNING c.id AS entity_id, k.company_id, k.before, k.after
)
