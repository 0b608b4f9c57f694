-- Keep the findings of the newest %(keep)s runs, counted apart for event runs and the others (the
-- frequent event runs must not prune a 5-minute run's findings before its corrections and
-- validation read them); drop older ones once their run has ended (or has been stuck for an
-- hour: its process is gone), never under a run still being validated.
DELETE FROM bg_rule_findings f
 USING bg_check_runs r
 WHERE f.run_id = r.id
   AND (r.status <> 'running' OR r.started_at < now() - interval '1 hour')
   AND r.id NOT IN (SELECT id
                      FROM (SELECT id, row_number() OVER (PARTITION BY mode = 'event'
                                                          ORDER BY id DESC) AS newest
                              FROM bg_check_runs) AS ranked
                     WHERE newest <= %(keep)s)
