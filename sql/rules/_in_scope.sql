-- A rule's findings narrowed to the entities of the scope itself, not their neighbours (a booking
-- id shared with an appointment outside the scope is the scope appointment's finding only).
SELECT f.entity_type, f.entity_id, f.company_id, f.column_name, f.detail
  FROM ({rule}) AS f
 WHERE (f.entity_type = 'call' AND f.entity_id IN (SELECT id FROM pg_temp.bg_scope_calls))
    OR (f.entity_type = 'appointment'
        AND f.entity_id IN (SELECT id FROM pg_temp.bg_scope_appointments))
