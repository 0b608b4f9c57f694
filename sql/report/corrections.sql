-- Corrections made in the period: audit rows (auto_corrected, no fingerprint) written by the
-- database triggers (metadata source 'trigger') and by the monitor's corrections (source
-- 'correction'); auto_corrected is both, in total and per alert type. Per tenant and over all
-- tenants. Period: [%(start)s, %(end)s).
WITH audit AS (
    SELECT company_id, alert_type, coalesce(metadata ->> 'source', 'trigger') AS source
      FROM data_consistency_alerts
     WHERE auto_corrected
       AND fingerprint IS NULL
       AND corrected_at >= %(start)s AND corrected_at < %(end)s
), grouped AS (
    SELECT CASE WHEN grouping(company_id) = 0 THEN company_id END AS company_id,
           alert_type, grouping(alert_type) AS level,
           count(*) AS corrected,
           count(*) FILTER (WHERE source = 'trigger') AS by_trigger,
           count(*) FILTER (WHERE source = 'correction') AS by_monitor
      FROM audit
     GROUP BY GROUPING SETS ((company_id), (), (company_id, alert_type), (alert_type))
    HAVING grouping(company_id) = 1 OR company_id IS NOT NULL
)
SELECT g.company_id, f.figure, coalesce(g.alert_type, '') AS key, f.value
  FROM grouped g
 CROSS JOIN LATERAL (VALUES
        ('auto_corrected', g.corrected::numeric),
        ('trigger_corrections', g.by_trigger),
        ('monitor_corrections', g.by_monitor)
       ) AS f (figure, value)
 WHERE g.level = 1 OR f.value > 0
