-- A person's action on one item (already locked and checked by review.act), its history row,
-- and — for 'resolved' — the item's alert: a problem a person says is fixed is no longer open;
-- if the rules still find it, detection opens a new alert and the queue a new item.
WITH changed AS (
    UPDATE manual_review_queue
       SET status = %(status)s::text,
           resolved_at = CASE WHEN %(status)s::text = 'pending' THEN NULL ELSE now() END,
           resolution_notes = CASE WHEN %(status)s::text = 'pending' THEN NULL
                                   ELSE %(notes)s::text END,
           checked_at = NULL,
           updated_at = now()
     WHERE id = %(id)s
    RETURNING id, status, alert_id
), history AS (
    INSERT INTO manual_review_history (item_id, action, status, actor, notes)
    SELECT id, %(action)s, status, %(actor)s, %(notes)s FROM changed
), alert AS (
    UPDATE data_consistency_alerts al
       SET resolved_at = now(), updated_at = now(),
           resolution_notes = 'resolved in review (item ' || c.id || ')'
      FROM changed c
     WHERE %(action)s::text = 'resolved'
       AND al.id = c.alert_id
       AND al.resolved_at IS NULL
)
SELECT id, status FROM changed
