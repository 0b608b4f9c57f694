-- The incremental window of a run: the calls and appointments changed since %(since)s (and,
-- when the alert writer recomputes it, before %(until)s, the run's start), each with the other
-- side of its link (a soft-deleted appointment changes nothing on its call, yet the call may now
-- violate a rule). Temporary: it lives as long as the session.
CREATE TEMP TABLE bg_scope_calls ON COMMIT PRESERVE ROWS AS
SELECT id FROM calls
 WHERE updated_at >= %(since)s AND (%(until)s::timestamptz IS NULL OR updated_at < %(until)s)
UNION
SELECT call_id FROM appointments
 WHERE updated_at >= %(since)s AND (%(until)s::timestamptz IS NULL OR updated_at < %(until)s)
   AND call_id IS NOT NULL;

CREATE TEMP TABLE bg_scope_appointments ON COMMIT PRESERVE ROWS AS
SELECT id FROM appointments
 WHERE updated_at >= %(since)s AND (%(until)s::timestamptz IS NULL OR updated_at < %(until)s)
UNION
SELECT a.id FROM appointments a JOIN calls c ON c.id = a.call_id
 WHERE c.updated_at >= %(since)s AND (%(until)s::timestamptz IS NULL OR c.updated_at < %(until)s);

ANALYZE bg_scope_calls;
ANALYZE bg_scope_appointments;
