-- The baseline of bench/correct.py: the same five corrections of run %(run_id)s written by hand,
-- one set-wise UPDATE per rule with its audit insert and alert resolution, in one transaction —
-- no batches, no row locks, no per-finding outcome, no review queueing.
WITH f AS (
    SELECT DISTINCT entity_id FROM bg_rule_findings
     WHERE run_id = %(run_id)s AND rule_id = 'missing_direction'
), u AS (
    UPDATE calls c SET direction = 'inbound', updated_at = now()
      FROM (SELECT c0.id, c0.direction FROM calls c0 JOIN f ON f.entity_id = c0.id
             WHERE c0.deleted_at IS NULL AND (c0.direction IS NULL OR c0.direction = '')) old
     WHERE c.id = old.id
    RETURNING c.id, c.company_id, old.direction
), audit AS (
    INSERT INTO data_consistency_alerts (company_id, alert_type, severity, entity_type, entity_id,
           description, metadata, resolved_at, auto_corrected, corrected_at)
    SELECT company_id, 'missing_direction', 'warning', 'call', id, 'direction set',
           jsonb_build_object('before', jsonb_build_object('direction', direction),
                              'after', jsonb_build_object('direction', 'inbound')),
           now(), true, now()
      FROM u
)
UPDATE data_consistency_alerts al SET resolved_at = now()
  FROM u WHERE al.fingerprint = 'missing_direction:call:' || u.id AND al.resolved_at IS NULL;

WITH f AS (
    SELECT DISTINCT entity_id FROM bg_rule_findings
     WHERE run_id = %(run_id)s AND rule_id = 'session_outcome_mismatch'
), u AS (
    UPDATE calls c SET appointment_made = true, updated_at = now()
      FROM f
     WHERE c.id = f.entity_id AND c.deleted_at IS NULL
       AND c.session_outcome = 'appointment_booked' AND NOT c.appointment_made
       AND EXISTS (SELECT 1 FROM appointments a WHERE a.call_id = c.id
                      AND a.company_id = c.company_id AND a.deleted_at IS NULL)
    RETURNING c.id, c.company_id
), audit AS (
    INSERT INTO data_consistency_alerts (company_id, alert_type, severity, entity_type, entity_id,
           description, metadata, resolved_at, auto_corrected, corrected_at)
    SELECT company_id, 'session_outcome_mismatch', 'critical', 'call', id, 'flag set',
           '{"before": {"appointment_made": false}, "after": {"appointment_made": true}}',
           now(), true, now()
      FROM u
)
UPDATE data_consistency_alerts al SET resolved_at = now()
  FROM u WHERE al.fingerprint = 'session_outcome_mismatch:call:' || u.id
   AND al.resolved_at IS NULL;

WITH f AS (
    SELECT DISTINCT entity_id FROM bg_rule_findings
     WHERE run_id = %(run_id)s AND rule_id = 'inconsistent_link_status'
), u AS (
    UPDATE calls c SET appointment_link_status = 'linked',
           appointment_linked_at = coalesce(c.appointment_linked_at, now()), updated_at = now()
      FROM (SELECT c0.id, c0.appointment_link_status, c0.appointment_linked_at
              FROM calls c0 JOIN f ON f.entity_id = c0.id
             WHERE c0.deleted_at IS NULL AND c0.appointment_made
               AND c0.appointment_link_status IS DISTINCT FROM 'linked'
               AND EXISTS (SELECT 1 FROM appointments a WHERE a.call_id = c0.id
                              AND a.company_id = c0.company_id AND a.deleted_at IS NULL)) old
     WHERE c.id = old.id
    RETURNING c.id, c.company_id, old.appointment_link_status, old.appointment_linked_at,
              c.appointment_linked_at AS linked_at
), audit AS (
    INSERT INTO data_consistency_alerts (company_id, alert_type, severity, entity_type, entity_id,
           description, metadata, resolved_at, auto_corrected, corrected_at)
    SELECT company_id, 'inconsistent_link_status', 'warning', 'call', id, 'linked',
           jsonb_build_object(
               'before', jsonb_build_object('appointment_link_status', appointment_link_status,
                                            'appointment_linked_at', appointment_linked_at),
               'after', jsonb_build_object('appointment_link_status', 'linked',
                                           'appointment_linked_at', linked_at)),
           now(), true, now()
      FROM u
)
UPDATE data_consistency_alerts al SET resolved_at = now()
  FROM u WHERE al.fingerprint = 'inconsistent_link_status:call:' || u.id
   AND al.resolved_at IS NULL;

WITH f AS (
    SELECT DISTINCT entity_id FROM bg_rule_findings
     WHERE run_id = %(run_id)s AND rule_id = 'link_backref_mismatch'
), owned AS (
    SELECT f.entity_id AS call_id, min(a.id) AS appointment_id, count(*) AS n
      FROM f JOIN calls c ON c.id = f.entity_id
      JOIN appointments a ON a.call_id = c.id AND a.company_id = c.company_id
     WHERE a.deleted_at IS NULL
     GROUP BY f.entity_id
), u AS (
    UPDATE calls c SET appointment_id = o.appointment_id, updated_at = now()
      FROM (SELECT c0.id, c0.appointment_id AS old_id FROM calls c0 JOIN f ON f.entity_id = c0.id
             WHERE c0.deleted_at IS NULL AND c0.appointment_id IS NOT NULL
               AND NOT EXISTS (SELECT 1 FROM appointments a WHERE a.id = c0.appointment_id
                                  AND a.call_id = c0.id AND a.deleted_at IS NULL)) old
      JOIN owned o ON o.call_id = old.id AND o.n = 1
     WHERE c.id = old.id
    RETURNING c.id, c.company_id, old.old_id, o.appointment_id
), audit AS (
    INSERT INTO data_consistency_alerts (company_id, alert_type, severity, entity_type, entity_id,
           description, metadata, resolved_at, auto_corrected, corrected_at)
    SELECT company_id, 'link_backref_mismatch', 'warning', 'call', id, 'back-reference repaired',
           jsonb_build_object('before', jsonb_build_object('appointment_id', old_id),
                              'after', jsonb_build_object('appointment_id', appointment_id)),
           now(), true, now()
      FROM u
)
UPDATE data_consistency_alerts al SET resolved_at = now()
  FROM u WHERE al.fingerprint = 'link_backref_mismatch:call:' || u.id AND al.resolved_at IS NULL;

WITH f AS (
    SELECT DISTINCT a.id, a.company_id, a.calcom_v2_booking_id, a.metadata
      FROM bg_rule_findings r JOIN appointments a ON a.id = r.entity_id
     WHERE r.run_id = %(run_id)s AND r.rule_id = 'orphaned_appointment'
       AND a.deleted_at IS NULL AND a.call_id IS NULL AND a.source = 'retell_webhook'
), pointing AS MATERIALIZED (
    SELECT id, appointment_id, company_id FROM calls
     WHERE appointment_id IN (SELECT id FROM f) AND deleted_at IS NULL
), identifies AS (
    SELECT f.id AS appointment_id, c.id AS call_id
      FROM pointing c JOIN f ON f.id = c.appointment_id AND c.company_id = f.company_id
    UNION
    SELECT f.id, c.id FROM f JOIN calls c ON c.id = CASE WHEN f.metadata ->> 'call_id' ~ '^[0-9]+$'
                                                        THEN (f.metadata ->> 'call_id')::bigint END
     WHERE c.company_id = f.company_id AND c.deleted_at IS NULL
    UNION
    SELECT f.id, c.id FROM f JOIN calls c ON c.retell_call_id = f.metadata ->> 'retell_call_id'
     WHERE c.company_id = f.company_id AND c.deleted_at IS NULL
    UNION
    SELECT f.id, c.id FROM f JOIN calls c ON c.booking_id = f.calcom_v2_booking_id
     WHERE f.calcom_v2_booking_id <> '' AND c.company_id = f.company_id AND c.deleted_at IS NULL
), unique_match AS (
    SELECT appointment_id, min(call_id) AS call_id FROM identifies
     GROUP BY appointment_id HAVING count(*) = 1
), safe AS (
    SELECT m.* FROM (SELECT *, count(*) OVER (PARTITION BY call_id) AS n FROM unique_match) m
     WHERE m.n = 1
       AND NOT EXISTS (SELECT 1 FROM appointments x WHERE x.call_id = m.call_id
                          AND x.deleted_at IS NULL)
), u AS (
    UPDATE appointments a SET call_id = s.call_id, updated_at = now()
      FROM safe s WHERE a.id = s.appointment_id
    RETURNING a.id, a.company_id, a.call_id
), audit AS (
    INSERT INTO data_consistency_alerts (company_id, alert_type, severity, entity_type, entity_id,
           description, metadata, resolved_at, auto_corrected, corrected_at)
    SELECT company_id, 'orphaned_appointment', 'warning', 'appointment', id, 'linked',
           jsonb_build_object('before', jsonb_build_object('call_id', NULL),
                              'after', jsonb_build_object('call_id', call_id)),
           now(), true, now()
      FROM u
)
UPDATE data_consistency_alerts al SET resolved_at = now()
  FROM u WHERE al.fingerprint = 'orphaned_appointment:appointment:' || u.id
   AND al.resolved_at IS NULL;
