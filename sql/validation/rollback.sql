-- Roll a failed booking back (BEHAVIOUR §A.2, in the caller's transaction): the call's flags say
-- the creation failed and a person must look, and the rollback alert is recorded — one open alert
-- per call (fingerprint appointment_rollback:call:<id>), which the monitor's notify step sends
-- (again, when an open one is refreshed). The app may not write alerts itself: bg_app_alert
-- (migration 0008) does. The description is static apart from the reason, a validated code; the
-- ids and the reason are in metadata.
-- The flags chosen trip none of the calls triggers (made false, outcome not appointment_booked).
WITH rolled AS (
    UPDATE calls c
       SET appointment_made = false,
           session_outcome = 'creation_failed',
           appointment_link_status = 'creation_failed',
           booking_failed = true,
           booking_failure_reason = %(reason)s,
           requires_manual_processing = true,
           updated_at = now()
     WHERE c.id = %(call_id)s
    RETURNING c.id, c.company_id
)
SELECT a.alert_id
  FROM rolled r
 CROSS JOIN LATERAL bg_app_alert(
           'appointment_rollback', %(severity)s, 'call', r.id, r.company_id, r.id::text,
           'Booking rolled back (' || %(reason)s || '); the call needs manual processing.',
           %(metadata)s::jsonb || jsonb_build_object('rolled_back_at', now()), true) a
