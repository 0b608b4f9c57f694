-- Per rule of a run: the first few entities as people read them, e.g. "call 12 (company 3)".
SELECT rule_id,
       (array_agg(entity_type || ' ' || entity_id || coalesce('.' || column_name, '')
                  || coalesce(' (company ' || company_id || ')', '')
                  ORDER BY entity_id, column_name))[1:%(samples)s]
  FROM bg_rule_findings
 WHERE run_id = %(run_id)s
 GROUP BY rule_id
