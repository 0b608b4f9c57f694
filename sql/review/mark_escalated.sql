-- The items a delivered escalation covered: escalated once, with a history row each.
WITH marked AS (
    UPDATE manual_review_queue
       SET escalated_at = now(), updated_at = now()
     WHERE id = ANY (%(ids)s)
    RETURNING id, status
)
INSERT INTO manual_review_history (item_id, action, status, actor, notes)
SELECT id, 'escalated', status, %(actor)s, %(note)s FROM marked
