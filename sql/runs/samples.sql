-- Per rule of a run: the first few entity ids, for people to look at.
SELECT rule_id, (array_agg(entity_id ORDER BY entity_id))[1:%(samples)s]
  FROM bg_rule_findings
 WHERE run_id = %(run_id)s
 GROUP BY rule_id
