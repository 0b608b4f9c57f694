-- A rule corrected within the blast-radius limit again: its correction_blocked alert resolves.
UPDATE data_consistency_alerts
   SET resolved_at = now(), updated_at = now(),
       resolution_notes = 'corrections within the limit again (run ' || %(run_id)s::bigint || ')'
 WHERE fingerprint = 'correction_blocked:' || %(rule_id)s
   AND resolved_at IS NULL
