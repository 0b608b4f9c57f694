-- Derived from the day's stored rows: the share of the day's problems that needed a person,
-- review-queue items against items plus auto-corrections (0 when there were neither).
INSERT INTO bg_report_figures (report_date, company_id, figure, key, value, timezone)
SELECT %(day)s, company_id, 'manual_share_pct', '',
       coalesce(round(100.0 * sum(value) FILTER (WHERE figure = 'review_queued')
                      / nullif(sum(value), 0), 2), 0),
       %(timezone)s
  FROM bg_report_figures
 WHERE report_date = %(day)s
   AND key = ''
   AND figure IN ('review_queued', 'auto_corrected')
 GROUP BY company_id
