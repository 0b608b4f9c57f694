-- Drop the stored scopes of finished event runs older than the newest %(keep)s event runs (the
-- runs whose findings are kept); a run still recording keeps its scope.
DELETE FROM bg_event_run_entities s
 USING bg_check_runs r
 WHERE s.run_id = r.id
   AND r.status <> 'running'
   AND r.id NOT IN (SELECT id FROM bg_check_runs WHERE mode = 'event'
                     ORDER BY id DESC LIMIT %(keep)s)
