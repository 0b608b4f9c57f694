-- A non-NULL, non-empty value outside its allowed set: one finding per (row, column).
-- The sets are BEHAVIOUR §D, plus 'creation_failed' as a session outcome (written by the rollback).
-- The value is shown only when it looks like a code (a letter, then at most 31 of [a-z0-9_-]: a
-- typo or an unknown status); anything else may be free text or a phone number pasted into the
-- wrong column and is not copied.
WITH invalid (entity_type, entity_id, company_id, column_name, external_key, external_id,
              value) AS (
    SELECT 'call', c.id, c.company_id, v.column_name, 'retell_call_id', c.retell_call_id, v.value
      FROM calls c
     CROSS JOIN LATERAL (VALUES
            ('direction', c.direction,
             c.direction IN ('inbound', 'outbound')),
            ('session_outcome', c.session_outcome,
             c.session_outcome IN ('appointment_booked', 'appointment_rescheduled',
                                   'appointment_cancelled', 'information_only',
                                   'callback_requested', 'transferred', 'voicemail', 'abandoned',
                                   'technical_issue', 'spam', 'other', 'creation_failed')),
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
    SELECT 'appointment', a.id, a.company_id, 'status', 'calcom_v2_booking_id',
           a.calcom_v2_booking_id, a.status
      FROM appointments a
     WHERE a.deleted_at IS NULL
       AND a.status <> ''
       AND a.status NOT IN ('pending', 'scheduled', 'confirmed', 'completed', 'cancelled',
                            'no_show')
       AND {appointment_scope}
)
SELECT entity_type, entity_id, company_id, column_name,
       jsonb_build_object(external_key, external_id,
                          'value', CASE WHEN value ~ '^[a-z][a-z0-9_-]*$'
                                         AND char_length(value) <= 32 THEN value
                                        ELSE '[redacted]' END) AS detail
  FROM invalid
