-- Items pending longer than %(hours)s hours and never escalated, locked (a concurrent run skips
-- them), grouped for one message: per priority and reason, a count, the oldest, a few ids.
WITH due AS (
    SELECT id, priority, reason, created_at
      FROM manual_review_queue
     WHERE status = 'pending'
       AND escalated_at IS NULL
       AND created_at < now() - make_interval(hours => %(hours)s)
       FOR UPDATE SKIP LOCKED
)
SELECT priority, reason, count(*) AS items, min(created_at) AS oldest,
       (array_agg(id ORDER BY id))[1:5] AS sample, array_agg(id) AS ids
  FROM due
 GROUP BY priority, reason
 ORDER BY priority, reason
