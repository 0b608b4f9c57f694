-- A fingerprint of a run's findings (order-independent): equal digests, equal findings.
SELECT count(*) || ':' || coalesce(sum(hashtextextended(
           rule_id || ':' || entity_type || ':' || entity_id || ':' || coalesce(column_name, ''),
           0)::numeric), 0)
  FROM bg_rule_findings
 WHERE run_id = %(run_id)s
