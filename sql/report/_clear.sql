-- Re-running a day replaces its rows: one report of a day at a time (a transaction-scoped
-- advisory lock per day), and the day's old rows go in the same transaction as the new ones come.
SELECT pg_advisory_xact_lock(hashtextextended('booking_guard_report:' || %(day)s::date, 0));
DELETE FROM bg_report_figures WHERE report_date = %(day)s::date;
