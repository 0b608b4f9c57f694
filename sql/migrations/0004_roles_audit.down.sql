-- Removes what 0004 added and revokes every privilege it granted in this database; the revision
-- then rebuilds 0003's triggers and functions from 0003's own files, so they are exactly 0003's
-- again (definitions, owner, default EXECUTE). App tables and their data are untouched.
--
-- The roles stay: they are cluster-wide, other databases of the cluster may hold grants to them,
-- and a DBA may have granted them to login users; dropping them here would silently take those
-- memberships away. After this file they own nothing and hold no privilege in this database.
DROP TRIGGER IF EXISTS bg_calls_after_update ON calls;
DROP TRIGGER IF EXISTS bg_calls_after_insert ON calls;
DROP FUNCTION IF EXISTS bg_calls_write_audit();
DROP FUNCTION IF EXISTS bg_write_audit(bg_audit_entry[]);
DROP TABLE IF EXISTS bg_call_corrections;
DROP TYPE IF EXISTS bg_audit_entry;

REVOKE ALL
    ON calls, appointments, companies, customers, retell_call_sessions, retell_error_log,
       circuit_breaker_states, data_consistency_alerts, manual_review_queue, bg_check_runs,
       bg_rule_findings, bg_notification_throttle
    FROM booking_guard_app, booking_guard_monitor, booking_guard_corrector, booking_guard_audit,
         booking_guard_sync;
REVOKE ALL
    ON SEQUENCE data_consistency_alerts_id_seq, bg_check_runs_id_seq, manual_review_queue_id_seq,
       circuit_breaker_states_id_seq
    FROM booking_guard_app, booking_guard_monitor, booking_guard_corrector, booking_guard_audit;
REVOKE ALL ON SCHEMA public
    FROM booking_guard_app, booking_guard_monitor, booking_guard_corrector, booking_guard_audit,
         booking_guard_sync;
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
        EXECUTE format('REVOKE ALL ON SEQUENCE %s FROM booking_guard_app', seq);
    END LOOP;
    EXECUTE format('REVOKE ALL ON DATABASE %I FROM booking_guard_app, booking_guard_monitor,'
                   ' booking_guard_corrector', current_database());
END
$$;
