-- An event run's scope as it was when the run looked: the temp tables the rules and the alert
-- writer read, filled from what the run stored. Temporary: it lives as long as the session.
CREATE TEMP TABLE bg_scope_calls ON COMMIT PRESERVE ROWS AS
SELECT entity_id AS id FROM bg_event_run_entities
 WHERE run_id = %(run_id)s AND entity_type = 'call';

CREATE TEMP TABLE bg_scope_appointments ON COMMIT PRESERVE ROWS AS
SELECT entity_id AS id FROM bg_event_run_entities
 WHERE run_id = %(run_id)s AND entity_type = 'appointment';

ANALYZE bg_scope_calls;
ANALYZE bg_scope_appointments;
