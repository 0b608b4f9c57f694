-- The local appointment of a booking Cal.com accepted. The appointments trigger links its call
-- (made, appointment_id, link status, outcome when it has none). A call whose earlier booking was
-- rolled back gets its outcome cleared first, in the same statement (a data-modifying WITH always
-- runs to completion), so the trigger books it again; booking_failed and
-- requires_manual_processing stay set while its review item is open.
WITH rebooked AS (
    UPDATE calls c
       SET session_outcome = NULL, updated_at = now()
     WHERE c.id = %(call_id)s
       AND c.session_outcome = 'creation_failed'
       AND NOT c.appointment_made
    RETURNING c.id
)
INSERT INTO appointments
       (company_id, customer_id, call_id, calcom_v2_booking_id, source, status, starts_at,
        ends_at)
SELECT c.company_id, c.customer_id, c.id, %(booking_uid)s, 'retell_webhook', 'scheduled',
       %(starts_at)s, %(ends_at)s
  FROM calls c
 WHERE c.id = %(call_id)s
   AND c.deleted_at IS NULL
RETURNING id
