-- Where the next incremental window starts: the last successful full or incremental run's start
-- (an event run looked at a few entities only, so it must never move the window).
SELECT max(started_at) FROM bg_check_runs WHERE status = 'succeeded' AND mode <> 'event'
