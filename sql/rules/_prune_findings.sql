-- Keep the findings of the newest %(keep)s runs; drop older ones once their run has ended (or
-- has been stuck for an hour: its process is gone), never under a run still being validated.
DELETE FROM bg_rule_findings f
 USING bg_check_runs r
 WHERE f.run_id = r.id
   AND (r.status <> 'running' OR r.started_at < now() - interval '1 hour')
   AND r.id NOT IN (SELECT id FROM bg_check_runs ORDER BY id DESC LIMIT %(keep)s)
