-- An appointment the voice agent's webhook created, without its call.
SELECT 'appointment' AS entity_type, a.id AS entity_id, a.company_id, NULL::text AS column_name,
       jsonb_build_object('calcom_v2_booking_id', a.calcom_v2_booking_id,
                          'source', a.source) AS detail
  FROM appointments a
 WHERE a.deleted_at IS NULL
   AND a.call_id IS NULL
   AND a.source = 'retell_webhook'
   AND {appointment_scope}
