-- An appointment linked to a call of another company: a tenant breach.
SELECT 'appointment' AS entity_type, a.id AS entity_id, a.company_id, NULL::text AS column_name,
       jsonb_build_object('call_id', c.id, 'call_company_id', c.company_id,
                          'appointment_company_id', a.company_id) AS detail
  FROM appointments a
  JOIN calls c ON c.id = a.call_id
 WHERE a.deleted_at IS NULL
   AND c.deleted_at IS NULL
   AND a.company_id <> c.company_id
   AND {appointment_scope}
