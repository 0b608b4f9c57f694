-- A call whose booking failed (BEHAVIOUR §B.1 rule 5, the tested calls-table version).
SELECT 'call' AS entity_type, c.id AS entity_id, c.company_id, NULL::text AS column_name,
       jsonb_build_object('retell_call_id', c.retell_call_id,
                          'reason', c.booking_failure_reason,
                          'requires_manual_processing', c.requires_manual_processing) AS detail
  FROM calls c
 WHERE c.deleted_at IS NULL
   AND c.booking_failed
   AND {call_scope}
