-- Where the next incremental window starts: the last successful run's start.
SELECT max(started_at) FROM bg_check_runs WHERE status = 'succeeded'
