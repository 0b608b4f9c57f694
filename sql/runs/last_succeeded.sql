-- The newest successful monitor run (not an event run, which sees a few entities only): what
-- `booking-guard correct` acts on by default.
SELECT max(id) FROM bg_check_runs WHERE status = 'succeeded' AND mode <> 'event'
