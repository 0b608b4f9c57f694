-- The conflict the calls trigger reports and leaves alone (session_outcome_conflict): the flag
-- says an appointment was made, an explicit outcome says something else. Rule-shaped (see
-- sql/rules/README.md), so the review re-check scopes it like a rule.
SELECT 'call' AS entity_type, c.id AS entity_id, c.company_id, NULL::text AS column_name,
       jsonb_build_object('session_outcome', c.session_outcome,
                          'appointment_made', c.appointment_made) AS detail
  FROM calls c
 WHERE c.deleted_at IS NULL
   AND c.appointment_made
   AND c.session_outcome <> 'appointment_booked'
   AND {call_scope}
