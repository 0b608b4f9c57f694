-- An alert's entity lies in the run's window (the temp tables of _scope_window.sql). Written as
-- one (entity_type, entity_id) list so that the planner can probe the alerts' entity index per
-- entity of the window: the cost follows the window, not the number of open alerts.
(al.entity_type, al.entity_id) IN (SELECT 'call', id FROM pg_temp.bg_scope_calls
                                   UNION ALL
                                   SELECT 'appointment', id FROM pg_temp.bg_scope_appointments)
