-- An item's history, oldest action first.
SELECT at, action, status, actor, notes
  FROM manual_review_history
 WHERE item_id = %(id)s
 ORDER BY id
