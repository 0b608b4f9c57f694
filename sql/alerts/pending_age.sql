-- Open alerts that are due a notification and have none yet: how many, and since when.
SELECT count(*) AS pending, min(detected_at) AS oldest
  FROM data_consistency_alerts
 WHERE resolved_at IS NULL
   AND notified_at IS NULL
   AND fingerprint IS NOT NULL
   AND severity = ANY (%(severities)s)
