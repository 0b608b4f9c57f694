-- session_outcome_mismatch: outcome appointment_booked, flag false. The flag becomes true only
-- when a live appointment of the same company points to the call; without one the booking may
-- be a phantom, and the call goes to review. The calls UPDATE trigger is woken (appointment_made
-- is in its column list) but its WHEN is false for this change — the outcome is
-- appointment_booked and the flag becomes true — so it writes no second audit row.
checked AS (
    SELECT c.id AS entity_id, c.company_id,
           jsonb_build_object('appointment_made', c.appointment_made) AS before,
           jsonb_build_object('appointment_made', true) AS after,
           CASE WHEN NOT EXISTS (SELECT 1 FROM appointments a
                                  WHERE a.call_id = c.id
                                    AND a.company_id = c.company_id
                                    AND a.deleted_at IS NULL)
                THEN 'no live appointment of this call: possible phantom booking' END AS why
      FROM calls c
      JOIN batch b ON b.entity_id = c.id AND b.company_id = c.company_id
     WHERE c.deleted_at IS NULL
       AND c.session_outcome = 'appointment_booked'
       AND NOT c.appointment_made
    {lock_calls}
), applied AS (
    UPDATE calls c
       SET appointment_made = true, updated_at = now()
      FROM checked k
     WHERE c.id = k.entity_id AND k.why IS NULL AND %(apply)s
    RETURNING c.id AS entity_id, k.company_id, k.before, k.after
)
