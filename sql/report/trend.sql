-- The headline figures over all tenants for the %(days)s days up to and including %(day)s.
SELECT report_date, figure, value
  FROM bg_report_figures
 WHERE company_id IS NULL
   AND key = ''
   AND figure = ANY (%(figures)s)
   AND report_date > %(day)s::date - %(days)s::int
   AND report_date <= %(day)s::date
 ORDER BY figure, report_date
