-- A run's consistency: live calls, and those with a finding on the call itself or on one of its
-- appointments in that run. NULL inconsistent when the run's findings were already pruned.
WITH run AS (
    SELECT id, EXISTS (SELECT 1 FROM bg_rule_findings WHERE run_id = id) OR findings = 0 AS kept
      FROM bg_check_runs
     WHERE id = %(run_id)s
), bad AS (
    SELECT f.entity_id AS call_id
      FROM bg_rule_findings f
     WHERE f.run_id = %(run_id)s AND f.entity_type = 'call'
    UNION
    SELECT a.call_id
      FROM bg_rule_findings f
      JOIN appointments a ON a.id = f.entity_id
     WHERE f.run_id = %(run_id)s AND f.entity_type = 'appointment' AND a.call_id IS NOT NULL
)
SELECT count(*) AS calls,
       CASE WHEN (SELECT kept FROM run)
            THEN count(*) FILTER (WHERE c.id IN (SELECT call_id FROM bad)) END AS inconsistent
  FROM calls c
 WHERE c.deleted_at IS NULL
