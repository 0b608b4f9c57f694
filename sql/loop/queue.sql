-- Open review items per priority (1 is the most urgent).
SELECT priority, count(*)
  FROM manual_review_queue
 WHERE status IN ('pending', 'in_progress')
 GROUP BY priority
 ORDER BY priority
