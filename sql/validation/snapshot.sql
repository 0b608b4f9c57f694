-- Post-booking validation (BEHAVIOUR §A.1): the call and the appointment to check, read fresh in
-- one round trip. Soft-deleted rows are absent. With %(appointment_id)s the appointment is that
-- row; without it, the call's newest live appointment. The age is absolute whole seconds from
-- the appointment's created_at to the database's clock (§G-3: a past time never gives a
-- negative age), so the application's clock does not enter.
-- Each branch of the UNION ALL is gated by a one-time filter on the parameter, so a generic
-- (prepared) plan still probes one index: appointments' primary key or appointments_call_idx.
SELECT c.id,
       c.company_id,
       c.retell_call_id,
       c.appointment_made,
       c.session_outcome,
       c.appointment_link_status,
       a.id AS appointment_id,
       a.call_id AS appointment_call_id,
       a.company_id AS appointment_company_id,
       a.calcom_v2_booking_id,
       a.created_at AS appointment_created_at,
       trunc(abs(extract(epoch FROM clock_timestamp() - a.created_at)))::bigint AS age_seconds,
       clock_timestamp() AS validated_at
  FROM calls c
  LEFT JOIN LATERAL (
        (SELECT x.id, x.call_id, x.company_id, x.calcom_v2_booking_id, x.created_at
           FROM appointments x
          WHERE %(appointment_id)s::bigint IS NOT NULL
            AND x.id = %(appointment_id)s::bigint
            AND x.deleted_at IS NULL)
        UNION ALL
        (SELECT x.id, x.call_id, x.company_id, x.calcom_v2_booking_id, x.created_at
           FROM appointments x
          WHERE %(appointment_id)s::bigint IS NULL
            AND x.call_id = c.id
            AND x.deleted_at IS NULL
          ORDER BY x.created_at DESC, x.id DESC
          LIMIT 1)
       ) a ON true
 WHERE c.id = %(call_id)s
   AND c.deleted_at IS NULL
