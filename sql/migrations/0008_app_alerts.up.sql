-- The alerts the booking application raises itself, written as a least-privileged login of
-- booking_guard_app (issue 8 item 1, for the layers that came after 0004): a rolled-back booking
-- (post-booking validation, BEHAVIOUR §A.2) and an opened circuit breaker (§C). The app may
-- neither read nor write data_consistency_alerts; it calls two SECURITY DEFINER functions owned
-- by booking_guard_audit, each limited to those two alert types:
--   bg_app_alert          opens the one tracked alert of an entity (fingerprint
--                         <type>:<entity type>:<key>), or refreshes it while it is open;
--   bg_app_resolve_alert  resolves it (a circuit that closed).
-- Detection alerts, corrections and resolution of everything else stay with the monitor and the
-- corrector. No dynamic SQL; fixed search_path; nothing granted to PUBLIC.

GRANT SELECT,
      UPDATE (severity, description, metadata, last_seen_at, notified_at, resolved_at,
              resolution_notes, updated_at)
    ON data_consistency_alerts TO booking_guard_audit;

CREATE FUNCTION bg_app_alert(
    p_alert_type text, p_severity text, p_entity_type text, p_entity_id bigint,
    p_company_id bigint, p_key text, p_description text, p_metadata jsonb, p_renotify boolean
) RETURNS TABLE (alert_id bigint, opened boolean)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    IF p_alert_type IS NULL OR p_alert_type NOT IN ('appointment_rollback', 'circuit_open') THEN
        RAISE EXCEPTION 'bg_app_alert writes appointment_rollback and circuit_open alerts only'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN QUERY
    INSERT INTO data_consistency_alerts AS al
           (company_id, alert_type, severity, entity_type, entity_id, fingerprint, description,
            metadata, detected_at, last_seen_at, auto_corrected)
    VALUES (p_company_id, p_alert_type, p_severity, p_entity_type, p_entity_id,
            p_alert_type || ':' || p_entity_type || ':' || p_key, p_description, p_metadata,
            now(), now(), false)
        ON CONFLICT (fingerprint) WHERE resolved_at IS NULL AND fingerprint IS NOT NULL
        DO UPDATE SET severity = excluded.severity,
                      description = excluded.description,
                      metadata = excluded.metadata,
                      last_seen_at = now(),
                      notified_at = CASE WHEN p_renotify THEN NULL ELSE al.notified_at END,
                      updated_at = now()
    RETURNING al.id, al.xmax = 0;
END
$$;

CREATE FUNCTION bg_app_resolve_alert(
    p_alert_type text, p_entity_type text, p_key text, p_notes text
) RETURNS integer
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    resolved integer;
BEGIN
    IF p_alert_type IS NULL OR p_alert_type NOT IN ('appointment_rollback', 'circuit_open') THEN
        RAISE EXCEPTION 'bg_app_resolve_alert resolves appointment_rollback and circuit_open'
                        ' alerts only'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    UPDATE data_consistency_alerts
       SET resolved_at = greatest(now(), detected_at),
           resolution_notes = p_notes,
           updated_at = now()
     WHERE fingerprint = p_alert_type || ':' || p_entity_type || ':' || p_key
       AND resolved_at IS NULL;
    GET DIAGNOSTICS resolved = ROW_COUNT;
    RETURN resolved;
END
$$;

ALTER FUNCTION bg_app_alert(text, text, text, bigint, bigint, text, text, jsonb, boolean)
    OWNER TO booking_guard_audit;
ALTER FUNCTION bg_app_resolve_alert(text, text, text, text) OWNER TO booking_guard_audit;
REVOKE EXECUTE ON FUNCTION bg_app_alert(text, text, text, bigint, bigint, text, text, jsonb, boolean),
    bg_app_resolve_alert(text, text, text, text)
    FROM PUBLIC;
-- the app (rollbacks, its breaker), and the corrector, whose people and DAGs also drive the
-- breaker (`booking-guard breaker open|close|reset`)
GRANT EXECUTE ON FUNCTION bg_app_alert(text, text, text, bigint, bigint, text, text, jsonb, boolean),
    bg_app_resolve_alert(text, text, text, text)
    TO booking_guard_app, booking_guard_corrector;
