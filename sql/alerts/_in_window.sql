-- An alert's entity lies in the run's window (the temp tables of _scope_window.sql).
((al.entity_type = 'call' AND al.entity_id IN (SELECT id FROM pg_temp.bg_scope_calls))
 OR (al.entity_type = 'appointment'
     AND al.entity_id IN (SELECT id FROM pg_temp.bg_scope_appointments)))
