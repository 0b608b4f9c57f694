-- What the burst's rollbacks queued for people: open items per reason, most urgent first.
SELECT reason, priority, count(*)::int AS items
  FROM manual_review_queue
 WHERE call_id = ANY (%(calls)s)
   AND status IN ('pending', 'in_progress')
 GROUP BY reason, priority
 ORDER BY priority, reason
