-- The manual review queue: items queued, resolved (or dismissed) and escalated in the period,
-- items still open at its end and the age in hours of the oldest of them. Per tenant and over
-- all tenants. Period: [%(start)s, %(end)s).
WITH items AS (
    SELECT company_id,
           created_at >= %(start)s AS queued,
           resolved_at >= %(start)s AND resolved_at < %(end)s AS resolved,
           escalated_at >= %(start)s AND escalated_at < %(end)s AS escalated,
           resolved_at IS NULL OR resolved_at >= %(end)s AS open_at_end,
           created_at
      FROM manual_review_queue
     WHERE created_at < %(end)s
       AND (resolved_at IS NULL OR resolved_at >= %(start)s)
), grouped AS (
    SELECT CASE WHEN grouping(company_id) = 0 THEN company_id END AS company_id,
           count(*) FILTER (WHERE queued) AS queued,
           count(*) FILTER (WHERE resolved) AS resolved,
           count(*) FILTER (WHERE escalated) AS escalated,
           count(*) FILTER (WHERE open_at_end) AS open_at_end,
           min(created_at) FILTER (WHERE open_at_end) AS oldest_open
      FROM items
     GROUP BY GROUPING SETS ((company_id), ())
    HAVING grouping(company_id) = 1 OR company_id IS NOT NULL
)
SELECT g.company_id, f.figure, '' AS key, f.value
  FROM grouped g
 CROSS JOIN LATERAL (VALUES
        ('review_queued', g.queued::numeric),
        ('review_resolved', g.resolved),
        ('review_escalated', g.escalated),
        ('review_open', g.open_at_end),
        ('review_oldest_open_hours',
         coalesce(round(extract(epoch FROM %(end)s - g.oldest_open) / 3600, 1), 0))
       ) AS f (figure, value)
