-- The call a booking is for: its tenant and customer, whether it already has a live appointment,
-- and a session advisory lock on it (namespace, call id) so that one call is booked by one
-- process at a time — the Cal.com request runs outside any transaction.
SELECT c.company_id,
       c.customer_id,
       c.retell_call_id,
       EXISTS (SELECT 1 FROM appointments a
                WHERE a.call_id = c.id AND a.deleted_at IS NULL) AS has_appointment,
       pg_try_advisory_lock(%(namespace)s, (c.id %% 2147483647)::int) AS locked
  FROM calls c
 WHERE c.id = %(call_id)s
   AND c.deleted_at IS NULL
