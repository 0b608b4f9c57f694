-- When a run began (its window's upper bound for the alert writer).
SELECT started_at FROM bg_check_runs WHERE id = %(run_id)s
