-- One figure group's rows (company_id, figure, key, value) into the day's history.
INSERT INTO bg_report_figures (report_date, company_id, figure, key, value, timezone)
SELECT %(day)s, f.company_id, f.figure, f.key, f.value, %(timezone)s
  FROM ({figures}) AS f (company_id, figure, key, value)
