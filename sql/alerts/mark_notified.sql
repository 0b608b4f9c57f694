-- The alerts a sent message covered: those of its group that existed when it was composed.
UPDATE data_consistency_alerts
   SET notified_at = now(), updated_at = now()
 WHERE alert_type = %(alert_type)s
   AND company_id IS NOT DISTINCT FROM %(company_id)s
   AND resolved_at IS NULL
   AND notified_at IS NULL
   AND fingerprint IS NOT NULL
   AND severity = ANY (%(severities)s)
   AND id <= %(max_id)s
