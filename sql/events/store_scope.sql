-- Keep an event run's scope (the temp tables of _scope_entities.sql, linked rows included), so
-- that the alert writer resolves alerts exactly where the run looked.
INSERT INTO bg_event_run_entities (run_id, entity_type, entity_id)
SELECT %(run_id)s, 'call', id FROM pg_temp.bg_scope_calls
UNION ALL
SELECT %(run_id)s, 'appointment', id FROM pg_temp.bg_scope_appointments
