-- One Cal.com booking id on more than one live appointment: every one of them is a finding.
SELECT 'appointment' AS entity_type, a.id AS entity_id, a.company_id, NULL::text AS column_name,
       jsonb_build_object('calcom_v2_booking_id', a.calcom_v2_booking_id,
                          'appointments_sharing', d.n) AS detail
  FROM appointments a
  JOIN (SELECT calcom_v2_booking_id, count(*) AS n
          FROM appointments
         WHERE deleted_at IS NULL
           AND calcom_v2_booking_id <> ''
           AND {booking_scope}
         GROUP BY calcom_v2_booking_id
        HAVING count(*) > 1) d USING (calcom_v2_booking_id)
 WHERE a.deleted_at IS NULL
