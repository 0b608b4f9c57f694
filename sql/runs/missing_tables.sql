-- The monitor's tables that do not exist (the migrations were never deployed), or NULL.
SELECT string_agg(t, ', ')
  FROM unnest(ARRAY['bg_check_runs', 'bg_rule_findings', 'data_consistency_alerts']) AS t
 WHERE to_regclass(t) IS NULL
