-- Open alerts not yet notified, grouped per (rule, company): one message per group, with counts
-- and a few entity ids, never a message per row. A group's severity is its worst (Python ranks).
SELECT alert_type,
       company_id,
       array_agg(DISTINCT severity) AS severities,
       count(*) AS alerts,
       (array_agg(entity_type || ' ' || entity_id ORDER BY id))[1:5] AS sample,
       max(id) AS max_id
  FROM data_consistency_alerts
 WHERE resolved_at IS NULL
   AND notified_at IS NULL
   AND fingerprint IS NOT NULL
   AND severity = ANY (%(severities)s)
 GROUP BY alert_type, company_id
