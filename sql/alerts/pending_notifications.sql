-- Open alerts not yet notified, grouped per (rule, company): one message per group, with counts
-- and a few entity ids, never a message per row.
SELECT alert_type,
       company_id,
       min(CASE severity WHEN 'critical' THEN 0 WHEN 'warning' THEN 1 ELSE 2 END) AS severity_rank,
       count(*) AS alerts,
       (array_agg(entity_type || ' ' || entity_id ORDER BY id))[1:5] AS sample,
       max(id) AS max_id
  FROM data_consistency_alerts
 WHERE resolved_at IS NULL
   AND notified_at IS NULL
   AND fingerprint IS NOT NULL
   AND severity = ANY (%(severities)s)
 GROUP BY alert_type, company_id
 ORDER BY severity_rank, alert_type, company_id
