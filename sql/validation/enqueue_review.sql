-- A failed booking for people to decide (BEHAVIOUR §B.5), in the rollback's transaction: one open
-- item per (reason, call) — the dedup key has the review queue's shape (reason:entity:id), and its
-- partial unique index settles concurrent writers. Returns the item's id, new or already open.
WITH queued AS (
    INSERT INTO manual_review_queue
           (company_id, call_id, appointment_id, retell_call_id, reason, priority, dedup_key,
            context)
    VALUES (%(company_id)s, %(call_id)s, %(appointment_id)s, %(retell_call_id)s, %(reason)s,
            %(priority)s, %(reason)s || ':call:' || %(call_id)s, %(context)s::jsonb)
    ON CONFLICT (dedup_key) WHERE status IN ('pending', 'in_progress') AND dedup_key IS NOT NULL
    DO NOTHING
    RETURNING id
)
SELECT id, true AS created FROM queued
UNION ALL
SELECT q.id, false
  FROM manual_review_queue q
 WHERE q.dedup_key = %(reason)s || ':call:' || %(call_id)s
   AND q.status IN ('pending', 'in_progress')
   AND NOT EXISTS (SELECT 1 FROM queued)
