-- Claim a batch of pending items for a re-check, in one round trip (a ClientCursor script).
-- The claim and the re-check stamp are one statement: the items a processor can re-check (a
-- reason with a rule, not re-checked in the last %(recheck_after)s) are locked FOR UPDATE SKIP
-- LOCKED, so a concurrent processor skips them instead of waiting, and stamped checked_at, so one
-- starting after this transaction commits does not take them again. Only checked_at changes: it
-- is in no index and the table's fillfactor (0009) leaves room on the page, so the stamp is a HOT
-- update. bg_review_claimed keeps the claimed items with their entity for the batch's
-- transaction; their entities fill the tables the rules' entity scope reads (rules.py).
CREATE TEMP TABLE bg_review_claimed ON COMMIT DROP AS
WITH claimed AS (
    UPDATE manual_review_queue q
       SET checked_at = now()
      FROM (SELECT id
              FROM manual_review_queue
             WHERE status = 'pending'
               AND reason = ANY (%(reasons)s)
               AND (checked_at IS NULL OR checked_at < now() - %(recheck_after)s::interval)
             ORDER BY priority, id
             LIMIT %(limit)s
               FOR UPDATE SKIP LOCKED) c
     WHERE q.id = c.id
    RETURNING q.id, q.reason::text AS reason,
              CASE WHEN q.appointment_id IS NULL THEN 'call' ELSE 'appointment' END AS entity_type,
              coalesce(q.appointment_id, q.call_id) AS entity_id
)
SELECT id, reason, entity_type, entity_id FROM claimed;

CREATE TEMP TABLE bg_scope_calls ON COMMIT DROP AS
SELECT entity_id AS id FROM bg_review_claimed WHERE entity_type = 'call';

CREATE TEMP TABLE bg_scope_appointments ON COMMIT DROP AS
SELECT entity_id AS id FROM bg_review_claimed WHERE entity_type = 'appointment';

ANALYZE bg_review_claimed;
ANALYZE bg_scope_calls;
ANALYZE bg_scope_appointments;

SELECT id, reason FROM bg_review_claimed;
