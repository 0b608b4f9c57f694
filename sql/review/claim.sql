-- Pending items a processor takes for a re-check: a reason it can re-check, not re-checked in the
-- last %(recheck_after)s, locked so that a concurrent processor skips them instead of waiting.
SELECT id, reason
  FROM manual_review_queue
 WHERE status = 'pending'
   AND reason = ANY (%(reasons)s)
   AND (checked_at IS NULL OR checked_at < now() - %(recheck_after)s::interval)
 ORDER BY priority, id
 LIMIT %(limit)s
   FOR UPDATE SKIP LOCKED
