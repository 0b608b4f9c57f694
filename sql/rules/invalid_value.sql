-- A non-NULL, non-empty value outside its allowed set: one finding per (row, column).
-- The sets are BEHAVIOUR §D, plus 'creation_failed' as a session outcome (written by the rollback).
SELECT 'call' AS entity_type, c.id AS entity_id, c.company_id, v.column_name,
       jsonb_build_object('retell_call_id', c.retell_call_id, 'value', v.value) AS detail
  FROM calls c
 CROSS JOIN LATERAL (VALUES
        ('direction', c.direction,
         c.direction IN ('inbound', 'outbound')),
        ('session_outcome', c.session_outcome,
         c.session_outcome IN ('appointment_booked', 'appointment_rescheduled',
                               'appointment_cancelled', 'information_only', 'callback_requested',
                               'transferred', 'voicemail', 'abandoned', 'technical_issue', 'spam',
                               'other', 'creation_failed')),
        ('customer_link_status', c.customer_link_status,
         c.customer_link_status IN ('linked', 'name_only', 'anonymous', 'pending_review',
                                    'unlinked', 'failed')),
        ('appointment_link_status', c.appointment_link_status,
         c.appointment_link_status IN ('linked', 'not_applicable', 'pending_creation',
                                       'creation_failed', 'unlinked'))
       ) AS v (column_name, value, allowed)
 WHERE c.deleted_at IS NULL
   AND v.value <> ''
   AND NOT v.allowed
   AND {call_scope}
UNION ALL
SELECT 'appointment', a.id, a.company_id, 'status',
       jsonb_build_object('calcom_v2_booking_id', a.calcom_v2_booking_id, 'value', a.status)
  FROM appointments a
 WHERE a.deleted_at IS NULL
   AND a.status <> ''
   AND a.status NOT IN ('pending', 'scheduled', 'confirmed', 'completed', 'cancelled', 'no_show')
   AND {appointment_scope}
