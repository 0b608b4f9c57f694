-- After a full scan: open alerts of the rules that ran, which the scan no longer finds, resolve —
-- only those last seen before the scan began. An alert opened or seen again by a concurrent run
-- while this scan was running stays open: this scan cannot tell whether it still holds.
UPDATE data_consistency_alerts al
   SET resolved_at = greatest(now(), al.detected_at),
       updated_at = now(),
       resolution_notes = 'no longer found by full scan (run ' || %(run_id)s || ')'
  FROM bg_check_runs r
 WHERE r.id = %(run_id)s
   AND al.resolved_at IS NULL
   AND al.fingerprint IS NOT NULL
   AND al.alert_type = ANY (%(rule_ids)s)
   AND al.last_seen_at < r.started_at
   AND NOT EXISTS (
        SELECT 1
          FROM bg_rule_findings f
         WHERE f.run_id = %(run_id)s
           AND f.rule_id = al.alert_type
           AND f.entity_type = al.entity_type
           AND f.entity_id = al.entity_id
           AND coalesce(f.column_name, '') = coalesce(al.column_name, ''))
