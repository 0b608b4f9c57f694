-- Open alerts of the rules a run ran, which the run no longer finds, resolve — only within what
-- the run looked at (the scope condition: everything for a full scan, the window's entities for
-- an incremental run) and only those last seen before the run began: an alert opened or seen again
-- by a concurrent run meanwhile stays open, this run cannot tell whether it still holds. Counts
-- per rule.
WITH resolved AS (
UPDATE data_consistency_alerts al
   SET resolved_at = greatest(now(), al.detected_at),
       updated_at = now(),
       resolution_notes = 'no longer found by ' || r.mode || ' run ' || r.id
  FROM bg_check_runs r
 WHERE r.id = %(run_id)s
   AND al.resolved_at IS NULL
   AND al.fingerprint IS NOT NULL
   AND al.alert_type = ANY (%(rule_ids)s)
   AND al.last_seen_at < r.started_at
   AND {in_scope}
   AND NOT EXISTS (
        SELECT 1
          FROM bg_rule_findings f
         WHERE f.run_id = %(run_id)s
           AND f.rule_id = al.alert_type
           AND f.entity_type = al.entity_type
           AND f.entity_id = al.entity_id
           AND coalesce(f.column_name, '') = coalesce(al.column_name, ''))
RETURNING al.alert_type
)
SELECT alert_type, count(*) FROM resolved GROUP BY alert_type
