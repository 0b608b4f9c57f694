-- The day's calls and appointments per tenant and over all tenants, and the consistency rate.
-- A call is inconsistent when it, or an appointment linked to it, had a detection alert
-- (critical or warning; audit rows and info findings are not inconsistencies) open at some time
-- in the period; each call counts once however many alerts it had. The rate is over distinct
-- calls, so it stays in [0, 100], and an empty day is 100. A row soft-deleted before the period
-- ended does not count. Period: [%(start)s, %(end)s).
WITH live_alert AS (
    SELECT entity_type, entity_id
      FROM data_consistency_alerts
     WHERE fingerprint IS NOT NULL
       AND severity IN ('critical', 'warning')
       AND entity_type IN ('call', 'appointment')
       AND detected_at < %(end)s
       AND (resolved_at IS NULL OR resolved_at > %(start)s)
), day_calls AS (
    SELECT c.company_id,
           EXISTS (SELECT 1 FROM live_alert a
                    WHERE a.entity_type = 'call' AND a.entity_id = c.id)
           OR EXISTS (SELECT 1 FROM appointments ap JOIN live_alert a
                          ON a.entity_type = 'appointment' AND a.entity_id = ap.id
                       WHERE ap.call_id = c.id) AS inconsistent
      FROM calls c
     WHERE c.created_at >= %(start)s AND c.created_at < %(end)s
       AND (c.deleted_at IS NULL OR c.deleted_at >= %(end)s)
), rows AS (
    SELECT company_id, true AS is_call, inconsistent FROM day_calls
    UNION ALL
    SELECT company_id, false, false
      FROM appointments
     WHERE created_at >= %(start)s AND created_at < %(end)s
       AND (deleted_at IS NULL OR deleted_at >= %(end)s)
), totals AS (
    SELECT CASE WHEN grouping(company_id) = 0 THEN company_id END AS company_id,
           count(*) FILTER (WHERE is_call) AS calls,
           count(*) FILTER (WHERE is_call AND inconsistent) AS inconsistent_calls,
           count(*) FILTER (WHERE NOT is_call) AS appointments
      FROM rows
     GROUP BY GROUPING SETS ((company_id), ())
)
SELECT t.company_id, f.figure, '' AS key, f.value
  FROM totals t
 CROSS JOIN LATERAL (VALUES
        ('calls', t.calls::numeric),
        ('appointments', t.appointments),
        ('inconsistent_calls', t.inconsistent_calls),
        ('consistency_rate_pct',
         CASE WHEN t.calls = 0 THEN 100
              ELSE least(100, greatest(0,
                   round(100.0 * (t.calls - t.inconsistent_calls) / t.calls, 2))) END)
       ) AS f (figure, value)
