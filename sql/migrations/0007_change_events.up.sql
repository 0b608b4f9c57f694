-- Seconds-fresh detection: every statement that inserts or updates calls or appointments records
-- the changed ids in bg_change_events and wakes listeners on channel booking_guard_changes.
--
-- Coalesced by construction: the triggers are FOR EACH STATEMENT (a bulk INSERT … SELECT or COPY
-- of any size fires once), and the payload is only the entity type, never an id, so PostgreSQL
-- folds identical notifications of one transaction into one: a transaction costs at most two
-- messages whatever it writes. The ids travel through the table, which the event run drains; a
-- notification that is lost (listener down) leaves its ids waiting for the next one, and the
-- 5-minute run stays the safety net. The tables are UNLOGGED: a crash loses pending ids, which the
-- incremental run then finds from updated_at.

CREATE UNLOGGED TABLE bg_change_events (
    id           bigserial,
    entity_type  text NOT NULL CHECK (entity_type IN ('call', 'appointment')),
    entity_id    bigint NOT NULL,
    at           timestamptz NOT NULL DEFAULT now()
);

-- The entities an event run looked at (its scope, with the linked rows), so that the alert writer
-- resolves exactly there: what the incremental window is for an incremental run.
CREATE UNLOGGED TABLE bg_event_run_entities (
    run_id       bigint NOT NULL REFERENCES bg_check_runs (id) ON DELETE CASCADE,
    entity_type  text NOT NULL CHECK (entity_type IN ('call', 'appointment')),
    entity_id    bigint NOT NULL
);
CREATE INDEX bg_event_run_entities_run_idx ON bg_event_run_entities (run_id);

ALTER TABLE bg_check_runs DROP CONSTRAINT bg_check_runs_mode_check;
ALTER TABLE bg_check_runs ADD CONSTRAINT bg_check_runs_mode_check
    CHECK (mode IN ('full', 'incremental', 'event'));

-- One function for both tables: the transition table has the same name in each trigger.
CREATE FUNCTION bg_publish_changes() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    kind text := CASE TG_TABLE_NAME WHEN 'calls' THEN 'call' ELSE 'appointment' END;
BEGIN
    INSERT INTO bg_change_events (entity_type, entity_id)
    SELECT kind, id FROM bg_changed_rows;
    IF FOUND THEN
        PERFORM pg_notify('booking_guard_changes', kind);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER bg_calls_publish_insert
    AFTER INSERT ON calls
    REFERENCING NEW TABLE AS bg_changed_rows
    FOR EACH STATEMENT
    EXECUTE FUNCTION bg_publish_changes();

CREATE TRIGGER bg_calls_publish_update
    AFTER UPDATE ON calls
    REFERENCING NEW TABLE AS bg_changed_rows
    FOR EACH STATEMENT
    EXECUTE FUNCTION bg_publish_changes();

CREATE TRIGGER bg_appointments_publish_insert
    AFTER INSERT ON appointments
    REFERENCING NEW TABLE AS bg_changed_rows
    FOR EACH STATEMENT
    EXECUTE FUNCTION bg_publish_changes();

CREATE TRIGGER bg_appointments_publish_update
    AFTER UPDATE ON appointments
    REFERENCING NEW TABLE AS bg_changed_rows
    FOR EACH STATEMENT
    EXECUTE FUNCTION bg_publish_changes();

-- The roles of 0004: the publishing function runs as the audit writer (it may insert the ids and
-- nothing else), so every role that writes calls or appointments publishes; the monitor and the
-- corrector drain the events and record an event run's scope.
ALTER FUNCTION bg_publish_changes() OWNER TO booking_guard_audit;
ALTER FUNCTION bg_publish_changes() SECURITY DEFINER;
REVOKE EXECUTE ON FUNCTION bg_publish_changes() FROM PUBLIC;
GRANT INSERT ON bg_change_events TO booking_guard_audit;
GRANT USAGE ON SEQUENCE bg_change_events_id_seq TO booking_guard_audit;
GRANT SELECT, DELETE ON bg_change_events TO booking_guard_monitor, booking_guard_corrector;
GRANT SELECT, INSERT, DELETE ON bg_event_run_entities
    TO booking_guard_monitor, booking_guard_corrector;
