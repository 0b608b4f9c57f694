-- Removes the change publication and the event runs (their findings go with them), so that
-- the narrower mode check holds.
DROP TRIGGER IF EXISTS bg_calls_publish_insert ON calls;
DROP TRIGGER IF EXISTS bg_calls_publish_update ON calls;
DROP TRIGGER IF EXISTS bg_appointments_publish_insert ON appointments;
DROP TRIGGER IF EXISTS bg_appointments_publish_update ON appointments;
DROP FUNCTION IF EXISTS bg_publish_changes();
DROP TABLE IF EXISTS bg_event_run_entities;
DROP TABLE IF EXISTS bg_change_events;
DELETE FROM bg_check_runs WHERE mode = 'event';
ALTER TABLE bg_check_runs DROP CONSTRAINT bg_check_runs_mode_check;
ALTER TABLE bg_check_runs ADD CONSTRAINT bg_check_runs_mode_check
    CHECK (mode IN ('full', 'incremental'));
