-- Every stored figure of one day (all tenants first), as the report document reads them.
SELECT company_id, figure, key, value, timezone, generated_at
  FROM bg_report_figures
 WHERE report_date = %(day)s
 ORDER BY company_id NULLS FIRST, figure, key
