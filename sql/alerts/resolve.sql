-- After a full scan: open alerts of the rules that ran, which the scan no longer finds, resolve.
UPDATE data_consistency_alerts al
   SET resolved_at = now(),
       updated_at = now(),
       resolution_notes = 'no longer found by full scan (run ' || %(run_id)s || ')'
 WHERE al.resolved_at IS NULL
   AND al.fingerprint IS NOT NULL
   AND al.alert_type = ANY (%(rule_ids)s)
   AND NOT EXISTS (
        SELECT 1
          FROM bg_rule_findings f
         WHERE f.run_id = %(run_id)s
           AND f.rule_id = al.alert_type
           AND f.entity_type = al.entity_type
           AND f.entity_id = al.entity_id
           AND coalesce(f.column_name, '') = coalesce(al.column_name, ''))
