-- Every rule that applies to one call, for the booking app right after a booking (no writes).
-- Order: BEHAVIOUR §B.2 first (outcome, missing appointment, direction, link status), then the
-- rules the original missed. Returns (ordinal, type, entity_type, entity_id, column_name, detail).
-- invalid_value runs separately, narrowed to this call and its appointments (rules.py).
WITH c AS (
    SELECT * FROM calls WHERE id = %(call_id)s AND deleted_at IS NULL
), live_appointments AS (
    SELECT a.* FROM appointments a, c WHERE a.call_id = c.id AND a.deleted_at IS NULL
)
SELECT 1, 'session_outcome_mismatch', 'call', c.id, NULL::text,
       jsonb_build_object('session_outcome', c.session_outcome,
                          'appointment_made', c.appointment_made)
  FROM c WHERE c.session_outcome = 'appointment_booked' AND NOT c.appointment_made
UNION ALL
SELECT 2, 'missing_appointment', 'call', c.id, NULL,
       jsonb_build_object('appointment_made', c.appointment_made)
  FROM c WHERE c.appointment_made AND NOT EXISTS (SELECT 1 FROM live_appointments)
UNION ALL
SELECT 3, 'missing_direction', 'call', c.id, NULL, jsonb_build_object('direction', c.direction)
  FROM c WHERE c.direction IS NULL OR c.direction = ''
UNION ALL
SELECT 4, 'inconsistent_link_status', 'call', c.id, NULL,
       jsonb_build_object('appointment_made', c.appointment_made,
                          'appointment_link_status', c.appointment_link_status)
  FROM c WHERE c.appointment_made AND c.appointment_link_status IS DISTINCT FROM 'linked'
UNION ALL
SELECT 5, 'link_backref_mismatch', 'call', c.id, NULL,
       jsonb_build_object('appointment_id', c.appointment_id)
  FROM c
 WHERE c.appointment_id IS NOT NULL
   AND NOT EXISTS (SELECT 1 FROM live_appointments a WHERE a.id = c.appointment_id)
UNION ALL
SELECT 6, 'booking_failure', 'call', c.id, NULL,
       jsonb_build_object('requires_manual_processing', c.requires_manual_processing)
  FROM c WHERE c.booking_failed
UNION ALL
SELECT 7, 'cross_tenant_link', 'appointment', a.id, NULL,
       jsonb_build_object('call_company_id', c.company_id, 'appointment_company_id', a.company_id)
  FROM live_appointments a, c WHERE a.company_id <> c.company_id
UNION ALL
SELECT 8, 'duplicate_booking_id', 'appointment', a.id, NULL,
       jsonb_build_object('calcom_v2_booking_id', a.calcom_v2_booking_id)
  FROM live_appointments a
 WHERE a.calcom_v2_booking_id <> ''
   AND EXISTS (SELECT 1 FROM appointments o
                WHERE o.calcom_v2_booking_id = a.calcom_v2_booking_id
                  AND o.id <> a.id AND o.deleted_at IS NULL)
 ORDER BY 1, 4
