-- A rule's corrections stopped by the blast-radius limit: one open critical alert per rule, on
-- the detection run whose findings exceeded the limit (seen again on every blocked run, notified
-- once; the failed task's Slack callback names the rule), resolved by _unblocked.sql.
INSERT INTO data_consistency_alerts AS al
       (alert_type, severity, entity_type, entity_id, fingerprint, description, metadata)
VALUES ('correction_blocked', 'critical', 'check_run', %(run_id)s,
        'correction_blocked:' || %(rule_id)s,
        'Too many findings for an automatic correction: nothing corrected, a person must look.',
        jsonb_build_object('rule', %(rule_id)s::text, 'run_id', %(run_id)s::bigint,
                           'findings', %(findings)s::int, 'limit', %(limit)s::int))
ON CONFLICT (fingerprint) WHERE resolved_at IS NULL AND fingerprint IS NOT NULL
DO UPDATE SET entity_id = excluded.entity_id, metadata = excluded.metadata,
              last_seen_at = now(), updated_at = now()
