-- A call without a direction (NULL or empty).
SELECT 'call' AS entity_type, c.id AS entity_id, c.company_id, NULL::text AS column_name,
       jsonb_build_object('retell_call_id', c.retell_call_id, 'direction', c.direction) AS detail
  FROM calls c
 WHERE c.deleted_at IS NULL
   AND (c.direction IS NULL OR c.direction = '')
   AND {call_scope}
