-- The call a rollback is about, locked for the rest of the transaction: two rollbacks of one call
-- run one after the other, and the second sees the first one's flags (and does nothing).
SELECT c.company_id,
       c.retell_call_id,
       c.appointment_id,
       (c.session_outcome = 'creation_failed'
        AND c.appointment_link_status = 'creation_failed'
        AND c.booking_failed
        AND NOT c.appointment_made) AS rolled_back
  FROM calls c
 WHERE c.id = %(call_id)s
   AND c.deleted_at IS NULL
   FOR UPDATE
