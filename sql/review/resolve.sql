-- The claimed items the rules no longer find (what bg_review_claimed holds after still_found.sql)
-- became consistent: they resolve with a note, so do their open alerts of the same reason and
-- entity, and each gets an 'auto_resolved' history row. Counted per reason.
WITH resolved AS (
    UPDATE manual_review_queue q
       SET status = 'resolved', resolved_at = now(), resolution_notes = %(note)s,
           updated_at = now()
      FROM pg_temp.bg_review_claimed k
     WHERE q.id = k.id
    RETURNING q.id, k.reason, k.entity_type, k.entity_id
), alerts AS (
    UPDATE data_consistency_alerts al
       SET resolved_at = now(), updated_at = now(), resolution_notes = %(note)s
      FROM resolved k
     WHERE al.resolved_at IS NULL
       AND al.entity_type = k.entity_type
       AND al.entity_id = k.entity_id
       AND al.alert_type = k.reason
), history AS (
    INSERT INTO manual_review_history (item_id, action, status, actor, notes)
    SELECT id, 'auto_resolved', 'resolved', %(actor)s, %(note)s FROM resolved
)
SELECT reason, count(*) FROM resolved GROUP BY reason ORDER BY reason
