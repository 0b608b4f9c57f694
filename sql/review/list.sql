-- Items for people: open ones first by priority and age; %(statuses)s and %(company_id)s filter
-- (NULL company: every company).
SELECT id, status, priority, reason,
       CASE WHEN appointment_id IS NULL THEN 'call' ELSE 'appointment' END AS entity_type,
       coalesce(appointment_id, call_id) AS entity_id,
       company_id, created_at, escalated_at, resolved_at
  FROM manual_review_queue
 WHERE status = ANY (%(statuses)s)
   AND (%(company_id)s::bigint IS NULL OR company_id = %(company_id)s::bigint)
 ORDER BY status IN ('resolved', 'dismissed'), priority, created_at, id
 LIMIT %(limit)s
