-- Turn one run's findings into alerts, set-wise: a new finding opens an alert, a finding that is
-- already open only moves its last_seen_at. One open alert per fingerprint (rule, entity[, column]).
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
), upserted AS (
INSERT INTO data_consistency_alerts AS al
       (company_id, alert_type, severity, entity_type, entity_id, column_name, fingerprint,
        description, metadata, detected_at, last_seen_at)
SELECT f.company_id, f.rule_id, r.severity, f.entity_type, f.entity_id, f.column_name,
       f.fingerprint, r.description,
       f.detail || jsonb_build_object('rule', f.rule_id, 'run_id', f.run_id),
       now(), now()
  FROM findings f
  JOIN registry r USING (rule_id)
ON CONFLICT (fingerprint) WHERE resolved_at IS NULL AND fingerprint IS NOT NULL
DO UPDATE SET last_seen_at = excluded.last_seen_at,
              metadata = excluded.metadata,
              company_id = excluded.company_id,
              updated_at = now()
RETURNING (xmax = 0) AS opened
)
SELECT count(*) FILTER (WHERE opened) AS opened, count(*) FILTER (WHERE NOT opened) AS seen_again
  FROM upserted
