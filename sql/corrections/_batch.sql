-- One batch of one correction as one statement, so one transaction: the batch's findings, the
-- rule's correction (inserted below), an audit alert per corrected row, the detection alerts it
-- resolves, and one row per finding saying what became of it.
--
-- The correction (corrections/<rule>.sql) defines, over `batch`:
--   checked (entity_id, company_id, before, after, why): the findings whose rule predicate still
--       holds, re-checked on the row locked FOR NO KEY UPDATE SKIP LOCKED (a row another
--       transaction holds is left for the next run, never waited on); why is NULL when the fix
--       is safe, else the reason the finding goes to review;
--   applied (entity_id, company_id, before, after): the rows written, from `checked` — none
--       when %(apply)s is false (the dry run, which also takes no locks).
-- Tenant scope: a finding is matched on (id, company_id), and every correction looks for its
-- counterpart rows in the same company only.
WITH batch AS (
    SELECT DISTINCT entity_id, company_id
      FROM bg_rule_findings
     WHERE run_id = %(run_id)s
       AND rule_id = %(rule_id)s
       AND entity_id = ANY (%(entity_ids)s)
),
{correction},
audit AS (
    INSERT INTO data_consistency_alerts
           (company_id, alert_type, severity, entity_type, entity_id, description, metadata,
            detected_at, last_seen_at, resolved_at, auto_corrected, corrected_at)
    SELECT ap.company_id, %(rule_id)s, %(severity)s, %(entity_type)s, ap.entity_id,
           %(description)s,
           jsonb_build_object('source', 'correction', 'run_id', %(run_id)s::bigint,
                              'before', ap.before, 'after', ap.after),
           now(), now(), now(), true, now()
      FROM applied ap
), resolved AS (
    UPDATE data_consistency_alerts al
       SET resolved_at = now(),
           updated_at = now(),
           resolution_notes = 'auto-corrected (run ' || %(run_id)s::bigint || ')'
      FROM applied ap
     WHERE al.fingerprint = %(rule_id)s || ':' || %(entity_type)s || ':' || ap.entity_id
       AND al.resolved_at IS NULL
)
SELECT b.entity_id,
       CASE WHEN ap.entity_id IS NOT NULL THEN 'corrected'
            WHEN k.entity_id IS NULL THEN 'skipped'
            WHEN k.why IS NOT NULL THEN 'review'
            WHEN NOT %(apply)s THEN 'would_correct'
            ELSE 'skipped' END AS outcome,
       k.before, k.after, k.why
  FROM batch b
  LEFT JOIN checked k USING (entity_id)
  LEFT JOIN applied ap USING (entity_id)
 ORDER BY b.entity_id
