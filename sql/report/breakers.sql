-- Circuit-breaker transitions in the period: a circuit_open alert detected in it is an opening,
-- one resolved in it a closing (the breaker's alert listener writes them); a circuit whose
-- circuit_breaker_states row shows an opening or closing in the period without such an alert
-- (a breaker running without the listener) counts too. Open circuits at the period's end come
-- from the alerts. In total (key '') and per circuit (key = circuit key), per tenant where the
-- circuit has one. Period: [%(start)s, %(end)s).
WITH circuit_alerts AS (
    SELECT al.company_id, s.circuit_key,
           al.detected_at >= %(start)s AS opened,
           al.resolved_at < %(end)s AS closed,
           al.resolved_at IS NULL OR al.resolved_at >= %(end)s AS open_at_end
      FROM data_consistency_alerts al
      JOIN circuit_breaker_states s ON s.id = al.entity_id
     WHERE al.alert_type = 'circuit_open'
       AND al.entity_type = 'circuit'
       AND al.detected_at < %(end)s
       AND (al.resolved_at IS NULL OR al.resolved_at >= %(start)s)
), states AS (
    SELECT s.company_id, s.circuit_key,
           s.opened_at >= %(start)s AND s.opened_at < %(end)s
           AND NOT EXISTS (SELECT 1 FROM circuit_alerts a
                            WHERE a.circuit_key = s.circuit_key AND a.opened) AS opened,
           s.closed_at >= %(start)s AND s.closed_at < %(end)s
           AND NOT EXISTS (SELECT 1 FROM circuit_alerts a
                            WHERE a.circuit_key = s.circuit_key AND a.closed) AS closed,
           false AS open_at_end
      FROM circuit_breaker_states s
     WHERE (s.opened_at >= %(start)s AND s.opened_at < %(end)s)
        OR (s.closed_at >= %(start)s AND s.closed_at < %(end)s)
), transitions AS (
    SELECT * FROM circuit_alerts
    UNION ALL
    SELECT * FROM states
), grouped AS (
    SELECT CASE WHEN grouping(company_id) = 0 THEN company_id END AS company_id,
           circuit_key, grouping(circuit_key) AS level,
           count(*) FILTER (WHERE opened) AS opened,
           count(*) FILTER (WHERE closed) AS closed,
           count(*) FILTER (WHERE open_at_end) AS open_at_end
      FROM transitions
     GROUP BY GROUPING SETS ((company_id), (), (company_id, circuit_key), (circuit_key))
    HAVING grouping(company_id) = 1 OR company_id IS NOT NULL
)
SELECT g.company_id, f.figure, coalesce(g.circuit_key, '') AS key, f.value
  FROM grouped g
 CROSS JOIN LATERAL (VALUES
        ('breaker_opened', g.opened::numeric),
        ('breaker_closed', g.closed),
        ('breaker_open_at_end', g.open_at_end)
       ) AS f (figure, value)
 WHERE (g.level = 1 AND g.company_id IS NULL) OR f.value > 0
