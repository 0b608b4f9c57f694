-- Runs still "running" long after any run could last: their process is gone (killed backend,
-- crashed worker). Close them as failed so they neither block pruning nor look alive.
UPDATE bg_check_runs
   SET status = 'failed', finished_at = now()
 WHERE status = 'running'
   AND started_at < now() - make_interval(mins => %(minutes)s)
