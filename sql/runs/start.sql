-- Open a detection run; its id keys the run's findings.
INSERT INTO bg_check_runs (mode, window_start) VALUES (%(mode)s, %(window_start)s) RETURNING id
