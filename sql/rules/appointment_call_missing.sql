-- A live appointment whose call does not exist or is soft-deleted.
SELECT 'appointment' AS entity_type, a.id AS entity_id, a.company_id, NULL::text AS column_name,
       jsonb_build_object('call_id', a.call_id,
                          'calcom_v2_booking_id', a.calcom_v2_booking_id,
                          'call_deleted', EXISTS (SELECT 1 FROM calls d WHERE d.id = a.call_id))
           AS detail
  FROM appointments a
 WHERE a.deleted_at IS NULL
   AND a.call_id IS NOT NULL
   AND NOT EXISTS (SELECT 1 FROM calls c WHERE c.id = a.call_id AND c.deleted_at IS NULL)
   AND {appointment_scope}
