-- The re-check baseline's scope: the entities of the pending items (%(ids)s), under the names the
-- rules' entity scope reads (rules.py), as the re-check built them before it claimed and scoped in
-- one script. Dropped when the transaction ends.
CREATE TEMP TABLE bg_scope_calls ON COMMIT DROP AS
SELECT call_id AS id FROM manual_review_queue
 WHERE id = ANY (%(ids)s) AND appointment_id IS NULL AND call_id IS NOT NULL;

CREATE TEMP TABLE bg_scope_appointments ON COMMIT DROP AS
SELECT appointment_id AS id FROM manual_review_queue
 WHERE id = ANY (%(ids)s) AND appointment_id IS NOT NULL;

ANALYZE bg_scope_calls;
ANALYZE bg_scope_appointments;
