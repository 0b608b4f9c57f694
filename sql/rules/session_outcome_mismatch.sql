-- The call says the appointment was booked, its flag says it was not.
SELECT 'call' AS entity_type, c.id AS entity_id, c.company_id, NULL::text AS column_name,
       jsonb_build_object('retell_call_id', c.retell_call_id,
                          'session_outcome', c.session_outcome,
                          'appointment_made', c.appointment_made) AS detail
  FROM calls c
 WHERE c.deleted_at IS NULL
   AND c.session_outcome = 'appointment_booked'
   AND NOT c.appointment_made
   AND {call_scope}
