-- Close a run (once: a run already closed keeps its first outcome).
UPDATE bg_check_runs
   SET finished_at = now(), status = %(status)s, findings = %(findings)s, summary = %(summary)s
 WHERE id = %(run_id)s
   AND status = 'running'
