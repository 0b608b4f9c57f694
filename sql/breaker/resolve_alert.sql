-- A circuit that closed resolves its open circuit_open alert, if any.
UPDATE data_consistency_alerts
   SET resolved_at = greatest(now(), detected_at),
       resolution_notes = 'circuit closed: ' || %(reason)s,
       updated_at = now()
 WHERE fingerprint = 'circuit_open:circuit:' || %(circuit_key)s
   AND resolved_at IS NULL
