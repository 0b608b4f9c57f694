-- booking-guard database triggers: the last line of defence inside PostgreSQL (BEHAVIOUR §E),
-- with the original's defects fixed (§G-17 to §G-21) and safe under bulk loads.
--
-- calls: one BEFORE ROW trigger per event, gated by a WHEN clause (and, on UPDATE, by the column
--   list), so a clean row costs one expression evaluation. It corrects NEW in place — no second
--   row version — and writes the audit alert of each correction with NEW.id, which PostgreSQL
--   assigns before BEFORE ROW triggers run; its name sorts last among BEFORE triggers, so no later
--   trigger can drop the row after its alert is written, and an error aborts both.
-- appointments: AFTER STATEMENT triggers with transition tables, so a batch of appointments syncs
--   its calls in one set-wise UPDATE, whatever its size.
-- What a trigger derives on the normal path (customer link from customer_id, a call linked by a
-- new appointment) is not an alert; every correction of inconsistent data is one, with a static
-- description, the values before and after in metadata, and the real entity id.
-- No dynamic SQL; every function has a fixed search_path.

DO $$
DECLARE
    missing text;
BEGIN
    SELECT string_agg(need.tbl || '.' || need.col, ', ' ORDER BY need.tbl, need.col)
      INTO missing
      FROM (VALUES ('calls', 'customer_id'), ('calls', 'customer_link_status'),
                   ('calls', 'customer_link_method'), ('calls', 'customer_link_confidence'),
                   ('calls', 'customer_linked_at'), ('calls', 'appointment_linked_at'))
           AS need (tbl, col)
     WHERE NOT EXISTS (SELECT 1 FROM information_schema.columns c
                        WHERE c.table_schema = current_schema()
                          AND c.table_name = need.tbl AND c.column_name = need.col);
    IF missing IS NOT NULL THEN
        RAISE EXCEPTION 'the app schema is incomplete for the triggers, missing %', missing
            USING HINT = 'booking-guard triggers need the columns of BEHAVIOUR §D';
    END IF;
END
$$;

-- One audit alert of a trigger correction (or of a conflict it leaves alone).
CREATE FUNCTION bg_trigger_alert(
    p_alert_type text, p_severity text, p_entity_type text, p_entity_id bigint,
    p_company_id bigint, p_description text, p_metadata jsonb, p_corrected boolean
) RETURNS void
LANGUAGE sql
SET search_path = pg_catalog, public, pg_temp
AS $$
    INSERT INTO data_consistency_alerts
           (company_id, alert_type, severity, entity_type, entity_id, description, metadata,
            detected_at, last_seen_at, resolved_at, auto_corrected, corrected_at)
    VALUES (p_company_id, p_alert_type, p_severity, p_entity_type, p_entity_id, p_description,
            p_metadata || jsonb_build_object('source', 'trigger'),
            now(), now(), CASE WHEN p_corrected THEN now() END, p_corrected,
            CASE WHEN p_corrected THEN now() END)
$$;

CREATE FUNCTION bg_calls_before_write() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    IF TG_OP = 'INSERT' AND (NEW.direction IS NULL OR NEW.direction = '') THEN
        PERFORM bg_trigger_alert(
            'direction_defaulted', 'info', 'call', NEW.id, NEW.company_id,
            'Call inserted without a direction; set to inbound.',
            jsonb_build_object('direction', jsonb_build_object('before', NEW.direction,
                                                               'after', 'inbound')),
            true);
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
            PERFORM bg_trigger_alert(
                'session_outcome_mismatch', 'warning', 'call', NEW.id, NEW.company_id,
                'Call outcome was appointment_booked with appointment_made false; flag set.',
                jsonb_build_object('appointment_made', jsonb_build_object('before', false,
                                                                          'after', true)),
                true);
            NEW.appointment_made := true;
        ELSIF NEW.appointment_made AND NEW.session_outcome IS NULL THEN
            PERFORM bg_trigger_alert(
                'appointment_made_mismatch', 'warning', 'call', NEW.id, NEW.company_id,
                'Call had appointment_made without an outcome; outcome set to appointment_booked.',
                jsonb_build_object('session_outcome', jsonb_build_object(
                    'before', NULL, 'after', 'appointment_booked')),
                true);
            NEW.session_outcome := 'appointment_booked';
        ELSIF NEW.appointment_made AND NEW.session_outcome <> 'appointment_booked' THEN
            -- An explicit outcome (rescheduled, cancelled, ...) is not overwritten (§G-20).
            PERFORM bg_trigger_alert(
                'session_outcome_conflict', 'info', 'call', NEW.id, NEW.company_id,
                'Call has appointment_made with another explicit outcome; left unchanged.',
                jsonb_build_object('session_outcome', NEW.session_outcome,
                                   'appointment_made', NEW.appointment_made),
                false);
        END IF;
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER zz_bg_calls_before_insert
    BEFORE INSERT ON calls
    FOR EACH ROW
    WHEN (NEW.direction IS NULL OR NEW.direction = ''
          OR NEW.customer_id IS NOT NULL AND NEW.customer_link_status IS DISTINCT FROM 'linked'
          OR NEW.session_outcome = 'appointment_booked' AND NOT NEW.appointment_made
          OR NEW.appointment_made AND NEW.session_outcome IS DISTINCT FROM 'appointment_booked')
    EXECUTE FUNCTION bg_calls_before_write();

CREATE TRIGGER zz_bg_calls_before_update
    BEFORE UPDATE OF customer_id, session_outcome, appointment_made ON calls
    FOR EACH ROW
    WHEN (NEW.customer_id IS NOT NULL AND NEW.customer_id IS DISTINCT FROM OLD.customer_id
          OR (NEW.session_outcome IS DISTINCT FROM OLD.session_outcome
              OR NEW.appointment_made IS DISTINCT FROM OLD.appointment_made)
             AND (NEW.session_outcome = 'appointment_booked' AND NOT NEW.appointment_made
                  OR NEW.appointment_made
                     AND NEW.session_outcome IS DISTINCT FROM 'appointment_booked'))
    EXECUTE FUNCTION bg_calls_before_write();

-- A new appointment links its call: the normal booking path, set-wise, no alert. The newest new
-- appointment of a call becomes its appointment_id; only calls that change are written. Named
-- transition tables carry no statistics, so the plan is index probes into calls: sorted by call
-- id they touch each page once, unsorted they cost a third more on a batch of 200,000.
CREATE FUNCTION bg_appointments_after_insert() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp
SET work_mem = '64MB'  -- a batch of 200,000 groups in memory, not in a temp file
AS $$
BEGIN
    UPDATE calls c
       SET appointment_made = true,
           appointment_id = n.newest,
           appointment_link_status = 'linked',
           appointment_linked_at = CASE WHEN c.appointment_link_status = 'linked'
                                        THEN coalesce(c.appointment_linked_at, now())
                                        ELSE now() END,
           session_outcome = CASE WHEN c.session_outcome IS NULL
                                       OR NOT c.appointment_made
                                          AND c.session_outcome = 'appointment_cancelled'
                                  THEN 'appointment_booked' ELSE c.session_outcome END,
           updated_at = now()
      FROM (SELECT DISTINCT ON (call_id) call_id, id AS newest
              FROM new_appointments
             WHERE call_id IS NOT NULL AND deleted_at IS NULL
             -- in call order: the calls are then read and written page after page
             ORDER BY call_id, id DESC) n
     WHERE c.id = n.call_id
       AND c.deleted_at IS NULL
       AND (NOT c.appointment_made
            OR c.appointment_id IS DISTINCT FROM n.newest
            OR c.appointment_link_status IS DISTINCT FROM 'linked'
            OR c.session_outcome IS NULL);
    RETURN NULL;
END
$$;

-- Re-derive the link of the given calls from their live appointments: linked to the newest one,
-- or unlinked when none is left. Unlinking turns an outcome of appointment_booked into
-- appointment_cancelled (else the outcome trigger would set the flag again, as the original
-- did); re-linking a call whose appointment had been cancelled books it again. Every change is
-- an audit alert.
CREATE FUNCTION bg_resync_calls(p_call_ids bigint[], p_cause text) RETURNS void
LANGUAGE sql
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
    INSERT INTO data_consistency_alerts
           (company_id, alert_type, severity, entity_type, entity_id, description, metadata,
            detected_at, last_seen_at, resolved_at, auto_corrected, corrected_at)
    SELECT t.company_id,
           CASE WHEN ch.appointment_made THEN 'appointment_linked' ELSE 'appointment_unlinked' END,
           CASE WHEN ch.appointment_made THEN 'info' ELSE 'warning' END,
           'call', ch.id,
           CASE WHEN ch.appointment_made
                THEN 'Call re-linked to its newest live appointment.'
                ELSE 'Call has no live appointment left; unlinked.' END,
           jsonb_build_object(
               'cause', p_cause, 'source', 'trigger',
               'appointment_made', jsonb_build_object('before', t.appointment_made,
                                                      'after', ch.appointment_made),
               'appointment_id', jsonb_build_object('before', t.appointment_id,
                                                    'after', ch.appointment_id),
               'appointment_link_status', jsonb_build_object('before', t.appointment_link_status,
                                                             'after', ch.appointment_link_status),
               'session_outcome', jsonb_build_object('before', t.session_outcome,
                                                     'after', ch.session_outcome)),
           now(), now(), now(), true, now()
      FROM changed ch
      JOIN target t ON t.id = ch.id
$$;

-- Linked later, soft-deleted, restored or moved to another call: only rows whose call_id or
-- deleted_at changed matter, and both the old and the new call are re-derived.
CREATE FUNCTION bg_appointments_after_update() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    affected bigint[];
BEGIN
    SELECT array_agg(DISTINCT x.call_id)
      INTO affected
      FROM old_appointments o
      JOIN new_appointments n ON n.id = o.id
     CROSS JOIN LATERAL (VALUES (o.call_id), (n.call_id)) AS x (call_id)
     WHERE (o.call_id IS DISTINCT FROM n.call_id OR o.deleted_at IS DISTINCT FROM n.deleted_at)
       AND x.call_id IS NOT NULL;
    IF affected IS NOT NULL THEN
        PERFORM bg_resync_calls(affected, 'appointment_update');
    END IF;
    RETURN NULL;
END
$$;

CREATE FUNCTION bg_appointments_after_delete() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    affected bigint[];
BEGIN
    SELECT array_agg(DISTINCT call_id) INTO affected
      FROM old_appointments WHERE call_id IS NOT NULL;
    IF affected IS NOT NULL THEN
        PERFORM bg_resync_calls(affected, 'appointment_delete');
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER bg_appointments_after_insert
    AFTER INSERT ON appointments
    REFERENCING NEW TABLE AS new_appointments
    FOR EACH STATEMENT
    EXECUTE FUNCTION bg_appointments_after_insert();

CREATE TRIGGER bg_appointments_after_update
    AFTER UPDATE ON appointments
    REFERENCING OLD TABLE AS old_appointments NEW TABLE AS new_appointments
    FOR EACH STATEMENT
    EXECUTE FUNCTION bg_appointments_after_update();

CREATE TRIGGER bg_appointments_after_delete
    AFTER DELETE ON appointments
    REFERENCING OLD TABLE AS old_appointments
    FOR EACH STATEMENT
    EXECUTE FUNCTION bg_appointments_after_delete();
