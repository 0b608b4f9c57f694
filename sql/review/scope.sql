-- The entities of the claimed items (%(ids)s), under the names the rules' incremental scope reads
-- (the entity scope of rules.py): the same rule queries, narrowed to these entities. Dropped
-- when the batch's transaction ends.
CREATE TEMP TABLE bg_scope_calls ON COMMIT DROP AS
SELECT call_id AS id FROM manual_review_queue
 WHERE id = ANY (%(ids)s) AND appointment_id IS NULL AND call_id IS NOT NULL;

CREATE TEMP TABLE bg_scope_appointments ON COMMIT DROP AS
SELECT appointment_id AS id FROM manual_review_queue
 WHERE id = ANY (%(ids)s) AND appointment_id IS NOT NULL;

ANALYZE bg_scope_calls;
ANALYZE bg_scope_appointments;
