-- A failed booking for people to decide (BEHAVIOUR §B.5), in the rollback's transaction: one open
-- item per (reason, call) — the dedup key has the review queue's shape (reason:entity:id), and its
-- partial unique index settles concurrent writers; a new item gets its 'queued' history row.
-- alert_id links the item to the rollback's alert: resolving the item in review resolves it.
-- Returns the item's id, new or already open.
WITH item AS (
    SELECT %(reason)s::text AS reason,
           %(call_id)s::bigint AS call_id,
           %(reason)s::text || ':call:' || %(call_id)s::bigint AS dedup_key
), queued AS (
    INSERT INTO manual_review_queue
           (company_id, call_id, appointment_id, retell_call_id, reason, priority, dedup_key,
            context, alert_id)
    SELECT %(company_id)s, i.call_id, %(appointment_id)s, %(retell_call_id)s, i.reason,
           %(priority)s, i.dedup_key, %(context)s::jsonb, %(alert_id)s
      FROM item i
    ON CONFLICT (dedup_key) WHERE status IN ('pending', 'in_progress') AND dedup_key IS NOT NULL
    DO NOTHING
    RETURNING id
), history AS (
    INSERT INTO manual_review_history (item_id, action, status, actor)
    SELECT id, 'queued', 'pending', %(actor)s FROM queued
)
SELECT id, true AS created FROM queued
UNION ALL
SELECT q.id, false
  FROM manual_review_queue q
  JOIN item i ON q.dedup_key = i.dedup_key
 WHERE q.status IN ('pending', 'in_progress')
   AND NOT EXISTS (SELECT 1 FROM queued)
