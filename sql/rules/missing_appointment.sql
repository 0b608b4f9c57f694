-- The call's flag says an appointment was made, but no live appointment points to the call.
SELECT 'call' AS entity_type, c.id AS entity_id, c.company_id, NULL::text AS column_name,
       jsonb_build_object('retell_call_id', c.retell_call_id,
                          'appointment_made', c.appointment_made,
                          'appointment_id', c.appointment_id) AS detail
  FROM calls c
 WHERE c.deleted_at IS NULL
   AND c.appointment_made
   AND NOT EXISTS (SELECT 1 FROM appointments a
                    WHERE a.call_id = c.id AND a.deleted_at IS NULL)
   AND {call_scope}
