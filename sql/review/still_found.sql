-- The claimed items of one reason (%(reason)s) that its rule still finds, the rule's query scoped
-- to the claimed entities: they stay pending and leave bg_review_claimed, so that after every
-- reason of the batch it holds the items that became consistent.
DELETE FROM pg_temp.bg_review_claimed k
 USING ({rule}) AS f
 WHERE k.reason = %(reason)s
   AND f.entity_type = k.entity_type
   AND f.entity_id = k.entity_id
