-- The call's flag says an appointment was made, its link status says it is not linked.
SELECT 'call' AS entity_type, c.id AS entity_id, c.company_id, NULL::text AS column_name,
       jsonb_build_object('retell_call_id', c.retell_call_id,
                          'appointment_made', c.appointment_made,
                          'appointment_link_status', c.appointment_link_status) AS detail
  FROM calls c
 WHERE c.deleted_at IS NULL
   AND c.appointment_made
   AND c.appointment_link_status IS DISTINCT FROM 'linked'
   AND {call_scope}
