-- New calls for the demo's booking burst, in the demo database's first company. Those numbered
-- %(conflicting_from)s to %(conflicting_to)s already carry another explicit outcome, which the
-- triggers keep when the appointment arrives (BEHAVIOUR §G-20): their validation fails.
INSERT INTO calls (company_id, retell_call_id, direction, session_outcome)
SELECT (SELECT min(id) FROM companies),
       'burst_' || md5(clock_timestamp()::text || g::text),
       'inbound',
       CASE WHEN g BETWEEN %(conflicting_from)s AND %(conflicting_to)s THEN 'callback_requested' END
  FROM generate_series(1, %(calls)s) AS g
 ORDER BY g
RETURNING id
