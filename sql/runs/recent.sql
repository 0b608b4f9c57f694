-- The last runs, newest first (booking-guard status).
SELECT id, mode, status, started_at, findings
  FROM bg_check_runs
 ORDER BY id DESC
 LIMIT %(limit)s
