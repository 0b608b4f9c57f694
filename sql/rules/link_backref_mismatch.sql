-- The call points to an appointment that is missing, soft-deleted, or belongs to another call.
-- Full scan only: finding the calls behind a changed appointment needs the reverse reference.
SELECT 'call' AS entity_type, c.id AS entity_id, c.company_id, NULL::text AS column_name,
       jsonb_build_object('retell_call_id', c.retell_call_id,
                          'appointment_id', c.appointment_id,
                          'appointment_call_id', a.call_id,
                          'appointment_deleted', a.deleted_at IS NOT NULL,
                          'appointment_exists', a.id IS NOT NULL) AS detail
  FROM calls c
  LEFT JOIN appointments a ON a.id = c.appointment_id
 WHERE c.deleted_at IS NULL
   AND c.appointment_id IS NOT NULL
   AND (a.id IS NULL OR a.deleted_at IS NOT NULL OR a.call_id IS DISTINCT FROM c.id)
