-- Detection alerts (one per fingerprint; audit rows excluded): opened and resolved in the
-- period, and open at its end — per tenant and over all tenants, in total (key '') and per rule
-- (key = alert type); open ones also per rule and severity (figure open_alerts.<severity>).
-- Breakdown rows are written only when non-zero. Period: [%(start)s, %(end)s).
WITH relevant AS (
    SELECT company_id, alert_type, severity,
           detected_at >= %(start)s AS new,
           resolved_at < %(end)s AS resolved,
           resolved_at IS NULL OR resolved_at >= %(end)s AS open_at_end
      FROM data_consistency_alerts
     WHERE fingerprint IS NOT NULL
       AND detected_at < %(end)s
       AND (resolved_at IS NULL OR resolved_at >= %(start)s)
), grouped AS (
    SELECT CASE WHEN grouping(company_id) = 0 THEN company_id END AS company_id,
           alert_type, severity, grouping(alert_type, severity) AS level,
           count(*) FILTER (WHERE new) AS new,
           count(*) FILTER (WHERE resolved) AS resolved,
           count(*) FILTER (WHERE open_at_end) AS open_at_end
      FROM relevant
     GROUP BY GROUPING SETS ((company_id), (), (company_id, alert_type), (alert_type),
                             (company_id, alert_type, severity), (alert_type, severity))
    HAVING grouping(company_id) = 1 OR company_id IS NOT NULL
)
SELECT g.company_id, f.figure, coalesce(g.alert_type, '') AS key, f.value
  FROM grouped g
 CROSS JOIN LATERAL (VALUES
        ('alerts_new', g.new::numeric),
        ('alerts_resolved', g.resolved),
        ('open_alerts', g.open_at_end)
       ) AS f (figure, value)
 WHERE g.level = 3 OR (g.level = 1 AND f.value > 0)
UNION ALL
SELECT g.company_id, 'open_alerts.' || g.severity, g.alert_type, g.open_at_end
  FROM grouped g
 WHERE g.level = 0 AND g.open_at_end > 0
