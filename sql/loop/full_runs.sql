-- The first and the last successful full scans: before and after the loop acted.
SELECT min(id), max(id) FROM bg_check_runs WHERE mode = 'full' AND status = 'succeeded'
