-- A call whose booking failed (BEHAVIOUR §B.1 rule 5, the tested calls-table version).
-- The reason is free text (it can name the caller, their number or address): the finding says
-- only whether there is one and how long it is; people read it in the app, not in alerts.
SELECT 'call' AS entity_type, c.id AS entity_id, c.company_id, NULL::text AS column_name,
       jsonb_build_object('retell_call_id', c.retell_call_id,
                          'reason_present', coalesce(c.booking_failure_reason, '') <> '',
                          'reason_length', coalesce(char_length(c.booking_failure_reason), 0),
                          'requires_manual_processing', c.requires_manual_processing) AS detail
  FROM calls c
 WHERE c.deleted_at IS NULL
   AND c.booking_failed
   AND {call_scope}
