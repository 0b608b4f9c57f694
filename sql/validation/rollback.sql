-- Roll a failed booking back (BEHAVIOUR §A.2, in the caller's transaction): the call's flags say
-- the creation failed and a person must look, and the rollback alert is recorded — one open alert
-- per call (fingerprint), which the monitor's notify step sends. The description is static apart
-- from the reason, a validated code; the ids and the reason are in metadata.
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
INSERT INTO data_consistency_alerts AS al
       (company_id, alert_type, severity, entity_type, entity_id, fingerprint, description,
        metadata, detected_at, last_seen_at, auto_corrected)
SELECT r.company_id, 'appointment_rollback', %(severity)s, 'call', r.id,
       'appointment_rollback:call:' || r.id,
       'Booking rolled back (' || %(reason)s || '); the call needs manual processing.',
       %(metadata)s::jsonb || jsonb_build_object('rolled_back_at', now()),
       now(), now(), false
  FROM rolled r
    ON CONFLICT (fingerprint) WHERE resolved_at IS NULL AND fingerprint IS NOT NULL
    DO UPDATE SET severity = excluded.severity,
                  description = excluded.description,
                  metadata = excluded.metadata,
                  last_seen_at = now(),
                  notified_at = NULL,
                  updated_at = now()
RETURNING al.id
