-- The scope of a check of single entities (check-call, the review queue, events): the given
-- calls and appointments, each with the other side of its link. Temporary: it lives as long as
-- the session.
CREATE TEMP TABLE bg_scope_calls ON COMMIT PRESERVE ROWS AS
SELECT id FROM calls WHERE id = ANY (%(call_ids)s)
UNION
SELECT call_id FROM appointments WHERE id = ANY (%(appointment_ids)s) AND call_id IS NOT NULL;

CREATE TEMP TABLE bg_scope_appointments ON COMMIT PRESERVE ROWS AS
SELECT id FROM appointments WHERE id = ANY (%(appointment_ids)s)
UNION
SELECT id FROM appointments WHERE call_id = ANY (%(call_ids)s) AND deleted_at IS NULL;

ANALYZE bg_scope_calls;
ANALYZE bg_scope_appointments;
