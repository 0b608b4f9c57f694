-- Turn one run's findings into alerts, set-wise: a finding already open only moves its
-- last_seen_at (one joined UPDATE), a new one opens an alert (one anti-joined INSERT); counts per
-- rule. One open
-- alert per fingerprint (rule, entity[, column]); the unique index settles a concurrent run.
-- %(rules)s: the registry as JSON [{rule_id, severity, description}].
WITH registry AS (
    SELECT * FROM jsonb_to_recordset(%(rules)s::jsonb)
        AS r (rule_id text, severity text, description text)
), findings AS (
    SELECT DISTINCT ON (fingerprint) *
      FROM (SELECT f.*,
                   f.rule_id || ':' || f.entity_type || ':' || f.entity_id
                       || coalesce(':' || f.column_name, '') AS fingerprint
              FROM bg_rule_findings f
             WHERE f.run_id = %(run_id)s) AS keyed
     ORDER BY fingerprint
), seen AS (
    UPDATE data_consistency_alerts al
       SET last_seen_at = now(),
           metadata = f.detail || jsonb_build_object('rule', f.rule_id),
           updated_at = now()
      FROM findings f
     WHERE al.fingerprint = f.fingerprint
       AND al.resolved_at IS NULL
    RETURNING al.alert_type
), opened AS (
    INSERT INTO data_consistency_alerts
           (company_id, alert_type, severity, entity_type, entity_id, column_name, fingerprint,
            description, metadata, detected_at, last_seen_at)
    SELECT f.company_id, f.rule_id, r.severity, f.entity_type, f.entity_id, f.column_name,
           f.fingerprint, r.description, f.detail || jsonb_build_object('rule', f.rule_id),
           now(), now()
      FROM findings f
      JOIN registry r USING (rule_id)
     WHERE NOT EXISTS (SELECT 1 FROM data_consistency_alerts al
                        WHERE al.fingerprint = f.fingerprint AND al.resolved_at IS NULL)
    ON CONFLICT (fingerprint) WHERE resolved_at IS NULL AND fingerprint IS NOT NULL DO NOTHING
    RETURNING alert_type
)
SELECT alert_type, count(*) FILTER (WHERE opened) AS opened,
       count(*) FILTER (WHERE NOT opened) AS seen_again
  FROM (SELECT alert_type, true AS opened FROM opened
        UNION ALL
        SELECT alert_type, false FROM seen) AS changed
 GROUP BY alert_type
