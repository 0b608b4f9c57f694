-- Store one rule's findings of a run; the engine fills in the rule's query, its scope applied.
INSERT INTO bg_rule_findings (run_id, rule_id, entity_type, entity_id, company_id, column_name,
                              detail)
SELECT %(run_id)s, %(rule_id)s, f.entity_type, f.entity_id, f.company_id, f.column_name, f.detail
  FROM ({rule}) AS f
