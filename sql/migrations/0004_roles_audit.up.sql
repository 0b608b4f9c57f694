-- Least privilege for the database layer, and trigger audits that only describe rows that exist,
-- written set-wise (BEHAVIOUR §E; issue 8 items 1, 4, 10).
--
-- Roles (NOLOGIN group roles; cluster-wide, so created idempotently and granted per database):
--   booking_guard_app        what the booking application needs: its own tables, the review queue
--                            and the circuit breaker's table; audit rows only through
--                            bg_trigger_alert(), never data_consistency_alerts directly.
--   booking_guard_monitor    reads the app tables; its bookkeeping tables; alerts (insert, update
--                            of the tracking columns); circuit_breaker_states (read).
--   booking_guard_corrector  the monitor's rights plus UPDATE of exactly the columns
--                            auto-corrections touch, and the review queue.
--   booking_guard_audit      internal, never granted to anyone: owns the SECURITY DEFINER
--                            functions that write audit rows; may only INSERT audit alerts.
--   booking_guard_sync       internal, never granted to anyone: owns the SECURITY DEFINER
--                            appointment triggers that re-derive a call's link columns.
--
-- Calls: the WHEN-gated BEFORE ROW triggers still correct NEW in place, but no longer write the
-- audit. They stage it in bg_call_corrections (one narrow row per correction, keyed by
-- transaction, trigger depth and operation), and an AFTER STATEMENT trigger writes the staged
-- audits in one INSERT … SELECT. On INSERT it keeps only rows in the statement's transition
-- table: an INSERT … ON CONFLICT runs BEFORE INSERT triggers for rows it never inserts. On
-- UPDATE a BEFORE ROW trigger only fires for a row that is then written (ours sorts last), so
-- no transition table is needed and the statement trigger keeps the column list (PostgreSQL
-- allows no column list with transition tables): an UPDATE of other columns costs nothing.
-- No dynamic SQL in any function; every function has a fixed search_path.

DO $$
DECLARE
    missing text;
BEGIN
    SELECT string_agg('table ' || need.tbl, ', ' ORDER BY need.tbl)
      INTO missing
      FROM unnest(ARRAY['companies', 'customers', 'retell_call_sessions', 'retell_error_log'])
           AS need (tbl)
     WHERE to_regclass(format('%I.%I', current_schema(), need.tbl)) IS NULL;
    IF missing IS NOT NULL THEN
        RAISE EXCEPTION 'the app schema is incomplete for the database roles, missing %', missing
            USING HINT = 'booking-guard roles are granted on the app tables of BEHAVIOUR §D';
    END IF;
END
$$;

-- Roles are shared by every database of the cluster: create the missing ones, tolerating a
-- deploy to another database that creates the same role at the same moment, and refuse roles of
-- these names that can log in or carry elevated attributes (a group role is granted to login
-- users; the two internal roles must have no members at all).
DO $$
DECLARE
    wanted text;
    unsafe text;
BEGIN
    FOREACH wanted IN ARRAY ARRAY['booking_guard_app', 'booking_guard_monitor',
                                  'booking_guard_corrector', 'booking_guard_audit',
                                  'booking_guard_sync'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = wanted) THEN
            BEGIN
                EXECUTE format('CREATE ROLE %I NOLOGIN', wanted);
            EXCEPTION WHEN duplicate_object OR unique_violation THEN
                NULL;  -- created meanwhile by a concurrent deploy: that is the role we want
            END;
        END IF;
    END LOOP;
    SELECT string_agg(DISTINCT r.rolname, ', ')
      INTO unsafe
      FROM pg_roles r
     WHERE r.rolname IN ('booking_guard_app', 'booking_guard_monitor', 'booking_guard_corrector',
                         'booking_guard_audit', 'booking_guard_sync')
       AND (r.rolcanlogin OR r.rolsuper OR r.rolcreaterole OR r.rolcreatedb
            OR r.rolreplication OR r.rolbypassrls
            OR r.rolname IN ('booking_guard_audit', 'booking_guard_sync')
               AND EXISTS (SELECT 1 FROM pg_auth_members m WHERE m.roleid = r.oid));
    IF unsafe IS NOT NULL THEN
        RAISE EXCEPTION 'role(s) % exist with LOGIN, elevated attributes or members', unsafe
            USING HINT = 'booking-guard roles are NOLOGIN group roles; the internal ones (audit, sync) have no members';
    END IF;
END
$$;

-- One audit alert, as the set-wise writer takes it.
CREATE TYPE bg_audit_entry AS (
    alert_type   text,
    severity     text,
    entity_type  text,
    entity_id    bigint,
    company_id   bigint,
    description  text,
    metadata     jsonb,
    corrected    boolean
);

-- Audits staged by the calls BEFORE ROW triggers for the statement's AFTER trigger. Transient:
-- a row lives from a BEFORE trigger to the end of its statement, so the table is UNLOGGED; the
-- AFTER trigger finds its transaction's rows by index, however many dead rows bulk statements
-- left behind for autovacuum.
CREATE UNLOGGED TABLE bg_call_corrections (
    xact   xid8 NOT NULL,
    depth  integer NOT NULL,
    op     text NOT NULL,
    seq    integer NOT NULL,
    entry  bg_audit_entry NOT NULL
);
CREATE INDEX bg_call_corrections_xact_idx ON bg_call_corrections (xact);

-- The one place audit rows are written: all of them, set-wise. Owned by booking_guard_audit,
-- which may only insert into data_consistency_alerts: whoever calls it writes audit rows and
-- nothing else (no fingerprint, so never a tracked or notified alert).
CREATE FUNCTION bg_write_audit(p_entries bg_audit_entry[]) RETURNS integer
LANGUAGE sql
SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
    WITH written AS (
        INSERT INTO data_consistency_alerts
               (company_id, alert_type, severity, entity_type, entity_id, description, metadata,
                detected_at, last_seen_at, resolved_at, auto_corrected, corrected_at)
        SELECT e.company_id, e.alert_type, e.severity, e.entity_type, e.entity_id,
               e.description, e.metadata || jsonb_build_object('source', 'trigger'),
               now(), now(), CASE WHEN e.corrected THEN now() END, e.corrected,
               CASE WHEN e.corrected THEN now() END
          FROM unnest(p_entries) AS e
        RETURNING 1
    )
    SELECT count(*)::integer FROM written
$$;

-- One audit alert (0003's signature): what the booking application calls for its own audit
-- rows (post-booking validation, rollback), now through the set-wise writer.
CREATE OR REPLACE FUNCTION bg_trigger_alert(
    p_alert_type text, p_severity text, p_entity_type text, p_entity_id bigint,
    p_company_id bigint, p_description text, p_metadata jsonb, p_corrected boolean
) RETURNS void
LANGUAGE sql
SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
    SELECT bg_write_audit(ARRAY[ROW(p_alert_type, p_severity, p_entity_type, p_entity_id,
                                    p_company_id, p_description, p_metadata,
                                    p_corrected)::bg_audit_entry])
$$;

-- Corrects NEW in place (as 0003) and stages the audit of each correction; the AFTER STATEMENT
-- trigger writes it once the row is known to exist.
CREATE OR REPLACE FUNCTION bg_calls_before_write() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    staged bg_audit_entry[];
BEGIN
    IF TG_OP = 'INSERT' AND (NEW.direction IS NULL OR NEW.direction = '') THEN
        staged := staged || ROW(
            'direction_defaulted', 'info', 'call', NEW.id, NEW.company_id,
            'Call inserted without a direction; set to inbound.',
            jsonb_build_object('direction', jsonb_build_object('before', NEW.direction,
                                                               'after', 'inbound')),
            true)::bg_audit_entry;
        NEW.direction := 'inbound';
    END IF;

    -- Derivation, not an alert: a known customer means a linked call.
    IF NEW.customer_id IS NOT NULL
       AND (TG_OP = 'INSERT' OR NEW.customer_id IS DISTINCT FROM OLD.customer_id) THEN
        NEW.customer_link_status := 'linked';
        NEW.customer_linked_at := CASE WHEN TG_OP = 'INSERT'
                                       THEN coalesce(NEW.customer_linked_at, now()) ELSE now() END;
        NEW.customer_link_method := coalesce(NEW.customer_link_method, 'phone_match');
        NEW.customer_link_confidence := coalesce(NEW.customer_link_confidence, 100.00);
    END IF;

    IF TG_OP = 'INSERT'
       OR NEW.session_outcome IS DISTINCT FROM OLD.session_outcome
       OR NEW.appointment_made IS DISTINCT FROM OLD.appointment_made THEN
        IF NEW.session_outcome = 'appointment_booked' AND NOT NEW.appointment_made THEN
            staged := staged || ROW(
                'session_outcome_mismatch', 'warning', 'call', NEW.id, NEW.company_id,
                'Call outcome was appointment_booked with appointment_made false; flag set.',
                jsonb_build_object('appointment_made', jsonb_build_object('before', false,
                                                                          'after', true)),
                true)::bg_audit_entry;
            NEW.appointment_made := true;
        ELSIF NEW.appointment_made AND NEW.session_outcome IS NULL THEN
            staged := staged || ROW(
                'appointment_made_mismatch', 'warning', 'call', NEW.id, NEW.company_id,
                'Call had appointment_made without an outcome; outcome set to appointment_booked.',
                jsonb_build_object('session_outcome', jsonb_build_object(
                    'before', NULL, 'after', 'appointment_booked')),
                true)::bg_audit_entry;
            NEW.session_outcome := 'appointment_booked';
        ELSIF NEW.appointment_made AND NEW.session_outcome <> 'appointment_booked' THEN
            -- An explicit outcome (rescheduled, cancelled, ...) is not overwritten (§G-20).
            staged := staged || ROW(
                'session_outcome_conflict', 'info', 'call', NEW.id, NEW.company_id,
                'Call has appointment_made with another explicit outcome; left unchanged.',
                jsonb_build_object('session_outcome', NEW.session_outcome,
                                   'appointment_made', NEW.appointment_made),
                false)::bg_audit_entry;
        END IF;
    END IF;

    IF staged IS NOT NULL THEN
        INSERT INTO bg_call_corrections (xact, depth, op, seq, entry)
        SELECT pg_current_xact_id(), pg_trigger_depth(), TG_OP, i, staged[i]
          FROM generate_subscripts(staged, 1) AS i;
        -- the AFTER STATEMENT triggers' WHEN: only a statement that staged something pays them
        IF current_setting('booking_guard.audit_staged', true) IS DISTINCT FROM 'on' THEN
            PERFORM set_config('booking_guard.audit_staged', 'on', true);
        END IF;
    END IF;
    RETURN NEW;
END
$$;

-- Writes the audits its statement staged, in one INSERT … SELECT: on INSERT only those of rows
-- the statement inserted (new_calls), dropping what an ON CONFLICT skipped or turned into an
-- update. Owned by booking_guard_audit: the staging table is read and emptied only here.
-- The staging table has no statistics (its rows live for one statement), so the planner takes it
-- for one row and would probe the transition table once per staged row, quadratic on a bulk
-- insert: nested loops are off here, so the staged rows are hashed and new_calls read once.
CREATE FUNCTION bg_calls_write_audit() RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
SET enable_nestloop = off
AS $$
DECLARE
    mine xid8 := pg_current_xact_id_if_assigned();
    entries bg_audit_entry[];
BEGIN
    IF NOT EXISTS (SELECT 1 FROM bg_call_corrections s
                    WHERE s.xact = mine AND s.depth = pg_trigger_depth() AND s.op = TG_OP) THEN
        RETURN NULL;  -- nothing corrected: the usual statement costs this one probe
    END IF;
    IF TG_OP = 'INSERT' THEN
        WITH staged AS (
            DELETE FROM bg_call_corrections s
             WHERE s.xact = mine AND s.depth = pg_trigger_depth() AND s.op = TG_OP
            RETURNING s.seq, s.entry
        )
        SELECT array_agg(st.entry ORDER BY (st.entry).entity_id, st.seq)
          INTO entries
          FROM staged st
          JOIN new_calls n ON n.id = (st.entry).entity_id;
    ELSE
        WITH staged AS (
            DELETE FROM bg_call_corrections s
             WHERE s.xact = mine AND s.depth = pg_trigger_depth() AND s.op = TG_OP
            RETURNING s.seq, s.entry
        )
        SELECT array_agg(st.entry ORDER BY (st.entry).entity_id, st.seq)
          INTO entries
          FROM staged st;
    END IF;
    IF entries IS NOT NULL THEN
        PERFORM bg_write_audit(entries);
    END IF;
    IF NOT EXISTS (SELECT 1 FROM bg_call_corrections s WHERE s.xact = mine) THEN
        -- an enclosing statement's staged rows keep the flag up for its own AFTER trigger
        PERFORM set_config('booking_guard.audit_staged', '', true);
    END IF;
    RETURN NULL;
END
$$;

-- Gated by a transaction-local flag the BEFORE ROW trigger raises when it stages an audit (a
-- statement trigger's WHEN is evaluated once the rows are done): a statement that corrected
-- nothing, such as a single-row insert of a clean call, does not even call the function. Anyone
-- may set the flag; that only costs the function's probe of the staging table.
CREATE TRIGGER bg_calls_after_insert
    AFTER INSERT ON calls
    REFERENCING NEW TABLE AS new_calls
    FOR EACH STATEMENT
    WHEN (current_setting('booking_guard.audit_staged', true) = 'on')
    EXECUTE FUNCTION bg_calls_write_audit();

CREATE TRIGGER bg_calls_after_update
    AFTER UPDATE OF customer_id, session_outcome, appointment_made ON calls
    FOR EACH STATEMENT
    WHEN (current_setting('booking_guard.audit_staged', true) = 'on')
    EXECUTE FUNCTION bg_calls_write_audit();

-- The appointment triggers write calls' link columns whoever changed the appointment (the
-- corrector may set appointments.call_id but not calls.session_outcome): they run as
-- booking_guard_sync, which may read calls and appointments and update only those columns.
-- Bodies as in 0003, except that bg_resync_calls writes its audits through bg_write_audit.
ALTER FUNCTION bg_appointments_after_insert() SECURITY DEFINER;
ALTER FUNCTION bg_appointments_after_update() SECURITY DEFINER;
ALTER FUNCTION bg_appointments_after_delete() SECURITY DEFINER;

CREATE OR REPLACE FUNCTION bg_resync_calls(p_call_ids bigint[], p_cause text) RETURNS void
LANGUAGE sql
SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
    WITH target AS (
        SELECT c.id, c.company_id, c.appointment_made, c.appointment_id,
               c.appointment_link_status, c.session_outcome,
               (SELECT max(a.id) FROM appointments a
                 WHERE a.call_id = c.id AND a.deleted_at IS NULL) AS newest
          FROM calls c
         WHERE c.id = ANY (p_call_ids) AND c.deleted_at IS NULL
    ), changed AS (
        UPDATE calls c
           SET appointment_made = t.newest IS NOT NULL,
               appointment_id = t.newest,
               appointment_link_status = CASE WHEN t.newest IS NULL THEN 'unlinked'
                                              ELSE 'linked' END,
               appointment_linked_at = CASE WHEN t.newest IS NULL THEN NULL
                                            WHEN t.appointment_link_status = 'linked'
                                            THEN coalesce(c.appointment_linked_at, now())
                                            ELSE now() END,
               session_outcome = CASE
                   WHEN t.newest IS NOT NULL
                        AND (t.session_outcome IS NULL
                             OR NOT t.appointment_made
                                AND t.session_outcome = 'appointment_cancelled')
                   THEN 'appointment_booked'
                   WHEN t.newest IS NULL AND t.session_outcome = 'appointment_booked'
                   THEN 'appointment_cancelled'
                   ELSE t.session_outcome END,
               updated_at = now()
          FROM target t
         WHERE c.id = t.id
           AND (t.appointment_made IS DISTINCT FROM (t.newest IS NOT NULL)
                OR t.appointment_id IS DISTINCT FROM t.newest
                OR t.appointment_link_status IS DISTINCT FROM
                   CASE WHEN t.newest IS NULL THEN 'unlinked' ELSE 'linked' END
                OR t.newest IS NOT NULL AND t.session_outcome IS NULL)
        RETURNING c.id, c.appointment_made, c.appointment_id, c.appointment_link_status,
                  c.session_outcome
    )
    SELECT bg_write_audit(array_agg(ROW(
               CASE WHEN ch.appointment_made THEN 'appointment_linked'
                    ELSE 'appointment_unlinked' END,
               CASE WHEN ch.appointment_made THEN 'info' ELSE 'warning' END,
               'call', ch.id, t.company_id,
               CASE WHEN ch.appointment_made
                    THEN 'Call re-linked to its newest live appointment.'
                    ELSE 'Call has no live appointment left; unlinked.' END,
               jsonb_build_object(
                   'cause', p_cause,
                   'appointment_made', jsonb_build_object('before', t.appointment_made,
                                                          'after', ch.appointment_made),
                   'appointment_id', jsonb_build_object('before', t.appointment_id,
                                                        'after', ch.appointment_id),
                   'appointment_link_status', jsonb_build_object(
                       'before', t.appointment_link_status,
                       'after', ch.appointment_link_status),
                   'session_outcome', jsonb_build_object('before', t.session_outcome,
                                                         'after', ch.session_outcome)),
               true)::bg_audit_entry ORDER BY ch.id))
      FROM changed ch
      JOIN target t ON t.id = ch.id
$$;

-- Ownership and EXECUTE: the definer functions belong to the internal roles; nobody may call
-- them but the roles below (trigger functions cannot be called directly at all).
ALTER FUNCTION bg_write_audit(bg_audit_entry[]) OWNER TO booking_guard_audit;
ALTER FUNCTION bg_trigger_alert(text, text, text, bigint, bigint, text, jsonb, boolean)
    OWNER TO booking_guard_audit;
ALTER FUNCTION bg_calls_write_audit() OWNER TO booking_guard_audit;
ALTER FUNCTION bg_resync_calls(bigint[], text) OWNER TO booking_guard_sync;
ALTER FUNCTION bg_appointments_after_insert() OWNER TO booking_guard_sync;
ALTER FUNCTION bg_appointments_after_update() OWNER TO booking_guard_sync;
ALTER FUNCTION bg_appointments_after_delete() OWNER TO booking_guard_sync;
REVOKE EXECUTE ON FUNCTION bg_write_audit(bg_audit_entry[]),
    bg_trigger_alert(text, text, text, bigint, bigint, text, jsonb, boolean),
    bg_calls_write_audit(), bg_resync_calls(bigint[], text), bg_appointments_after_insert(),
    bg_appointments_after_update(), bg_appointments_after_delete(), bg_calls_before_write()
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION bg_write_audit(bg_audit_entry[]) TO booking_guard_sync;
GRANT EXECUTE ON FUNCTION bg_trigger_alert(text, text, text, bigint, bigint, text, jsonb, boolean)
    TO booking_guard_app;

-- What each role may touch in this database.
GRANT USAGE ON SCHEMA public TO booking_guard_app, booking_guard_monitor, booking_guard_corrector,
    booking_guard_audit, booking_guard_sync;
DO $$
BEGIN
    EXECUTE format('GRANT CONNECT, TEMPORARY ON DATABASE %I TO booking_guard_app,'
                   ' booking_guard_monitor, booking_guard_corrector', current_database());
END
$$;

-- internal roles
GRANT INSERT ON data_consistency_alerts TO booking_guard_audit;
GRANT USAGE ON SEQUENCE data_consistency_alerts_id_seq TO booking_guard_audit;
GRANT SELECT, DELETE ON bg_call_corrections TO booking_guard_audit;
GRANT SELECT ON calls, appointments TO booking_guard_sync;
GRANT UPDATE (appointment_made, appointment_id, appointment_link_status, appointment_linked_at,
              session_outcome, updated_at) ON calls TO booking_guard_sync;
-- every role whose writes to calls fire the BEFORE ROW triggers stages audits: the three
-- writing roles, and the owner of calls (in production the application may write as the owner)
GRANT INSERT ON bg_call_corrections TO booking_guard_app, booking_guard_corrector,
    booking_guard_sync;
DO $$
BEGIN
    EXECUTE format('GRANT INSERT ON bg_call_corrections TO %I',
                   (SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = 'calls'::regclass));
END
$$;

-- booking_guard_app: its own tables, with their sequences.
GRANT SELECT, INSERT, UPDATE, DELETE
    ON calls, appointments, companies, customers, retell_call_sessions, retell_error_log
    TO booking_guard_app;
DO $$
DECLARE
    seq regclass;
BEGIN
    FOR seq IN
        SELECT d.objid::regclass
          FROM pg_depend d
          JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S'
         WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass
           AND d.deptype IN ('a', 'i')
           AND d.refobjid IN ('calls'::regclass, 'appointments'::regclass,
                              'companies'::regclass, 'customers'::regclass,
                              'retell_call_sessions'::regclass, 'retell_error_log'::regclass)
    LOOP
        EXECUTE format('GRANT USAGE ON SEQUENCE %s TO booking_guard_app', seq);
    END LOOP;
END
$$;
GRANT SELECT, INSERT ON manual_review_queue TO booking_guard_app;
GRANT SELECT, INSERT, UPDATE ON circuit_breaker_states TO booking_guard_app;
GRANT USAGE ON SEQUENCE manual_review_queue_id_seq, circuit_breaker_states_id_seq
    TO booking_guard_app;

-- booking_guard_monitor, and the same for booking_guard_corrector
GRANT SELECT
    ON calls, appointments, companies, customers, retell_call_sessions, retell_error_log,
       circuit_breaker_states
    TO booking_guard_monitor, booking_guard_corrector;
GRANT SELECT, INSERT, UPDATE, DELETE
    ON bg_check_runs, bg_rule_findings, bg_notification_throttle
    TO booking_guard_monitor, booking_guard_corrector;
GRANT SELECT, INSERT ON data_consistency_alerts TO booking_guard_monitor, booking_guard_corrector;
GRANT UPDATE (last_seen_at, metadata, resolved_at, resolution_notes, notified_at, updated_at)
    ON data_consistency_alerts TO booking_guard_monitor, booking_guard_corrector;
GRANT USAGE ON SEQUENCE data_consistency_alerts_id_seq, bg_check_runs_id_seq
    TO booking_guard_monitor, booking_guard_corrector;

-- booking_guard_corrector: the columns auto-corrections write, and the review queue
GRANT UPDATE (direction, appointment_made, appointment_link_status, appointment_linked_at,
              appointment_id, updated_at) ON calls TO booking_guard_corrector;
GRANT UPDATE (call_id, updated_at) ON appointments TO booking_guard_corrector;
GRANT SELECT, INSERT, UPDATE ON manual_review_queue TO booking_guard_corrector;
GRANT USAGE ON SEQUENCE manual_review_queue_id_seq TO booking_guard_corrector;
