-- The newest successful run: what `booking-guard correct` acts on by default.
SELECT max(id) FROM bg_check_runs WHERE status = 'succeeded'
