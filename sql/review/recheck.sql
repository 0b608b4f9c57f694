-- The re-check of the claimed items (%(ids)s). `still` lists (reason, entity_type, entity_id) of
-- those the rules still find, each rule's query scoped to the items' entities. The others became
-- consistent: they resolve with a note, so do their open alerts of the same reason and entity,
-- and each gets an 'auto_resolved' history row. Every claimed item is marked re-checked.
WITH still AS (
    {still}
), item AS (
    SELECT q.id, q.reason,
           CASE WHEN q.appointment_id IS NULL THEN 'call' ELSE 'appointment' END AS entity_type,
           coalesce(q.appointment_id, q.call_id) AS entity_id
      FROM manual_review_queue q
     WHERE q.id = ANY (%(ids)s)
), consistent AS (
    SELECT i.*
      FROM item i
     WHERE NOT EXISTS (SELECT 1 FROM still s
                        WHERE s.reason = i.reason
                          AND s.entity_type = i.entity_type
                          AND s.entity_id = i.entity_id)
), updated AS (
    UPDATE manual_review_queue q
       SET checked_at = now(),
           status = CASE WHEN k.id IS NULL THEN q.status ELSE 'resolved' END,
           resolved_at = CASE WHEN k.id IS NULL THEN q.resolved_at ELSE now() END,
           resolution_notes = CASE WHEN k.id IS NULL THEN q.resolution_notes ELSE %(note)s END,
           updated_at = CASE WHEN k.id IS NULL THEN q.updated_at ELSE now() END
      FROM item i
      LEFT JOIN consistent k ON k.id = i.id
     WHERE q.id = i.id
), alerts AS (
    UPDATE data_consistency_alerts al
       SET resolved_at = now(), updated_at = now(), resolution_notes = %(note)s
      FROM consistent k
     WHERE al.resolved_at IS NULL
       AND al.entity_type = k.entity_type
       AND al.entity_id = k.entity_id
       AND al.alert_type = k.reason
), history AS (
    INSERT INTO manual_review_history (item_id, action, status, actor, notes)
    SELECT id, 'auto_resolved', 'resolved', %(actor)s, %(note)s FROM consistent
)
SELECT reason, count(*) FROM consistent GROUP BY reason ORDER BY reason
