-- Open alerts per rule and severity, with how many are still waiting for a notification
-- (alerts.open_summary orders them by severity rank).
SELECT alert_type, severity, count(*) AS open_alerts,
       count(*) FILTER (WHERE notified_at IS NULL) AS not_notified,
       count(DISTINCT company_id) AS companies,
       min(detected_at) AS oldest
  FROM data_consistency_alerts
 WHERE resolved_at IS NULL AND fingerprint IS NOT NULL
 GROUP BY alert_type, severity
