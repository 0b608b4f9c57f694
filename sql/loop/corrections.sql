-- Rows the auto-corrections changed, per rule (their audit alerts).
SELECT alert_type, count(*)
  FROM data_consistency_alerts
 WHERE auto_corrected AND metadata ->> 'source' = 'correction'
 GROUP BY alert_type
 ORDER BY count(*) DESC, alert_type
