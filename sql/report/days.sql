-- The days that have a stored report, newest first.
SELECT report_date, max(generated_at) AS generated_at
  FROM bg_report_figures
 GROUP BY report_date
 ORDER BY report_date DESC
 LIMIT %(limit)s
