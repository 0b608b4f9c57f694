-- Take every pending change event (a concurrent writer's rows, committed later, wait for the next
-- drain) and return the distinct entities: their number, and the ids per type unless there are
-- more than %(max_entities)s (a bulk load is the incremental run's business, not the event run's).
WITH drained AS (
    DELETE FROM bg_change_events RETURNING entity_type, entity_id
), entities AS (
    SELECT DISTINCT entity_type, entity_id FROM drained
), counted AS (
    SELECT count(*) AS entities FROM entities
)
SELECT counted.entities,
       coalesce(array_agg(e.entity_id ORDER BY e.entity_id)
                    FILTER (WHERE e.entity_type = 'call' AND counted.entities <= %(max_entities)s),
                '{}'),
       coalesce(array_agg(e.entity_id ORDER BY e.entity_id)
                    FILTER (WHERE e.entity_type = 'appointment'
                              AND counted.entities <= %(max_entities)s),
                '{}')
  FROM counted LEFT JOIN entities e ON true
 GROUP BY counted.entities
