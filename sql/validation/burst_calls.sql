-- New calls for the demo's booking burst, in the demo database's first company. The last
-- %(conflicting)s already carry another explicit outcome, which the triggers keep when the
-- appointment arrives (BEHAVIOUR §G-20), so their post-booking validation fails.
INSERT INTO calls (company_id, retell_call_id, direction, session_outcome)
SELECT (SELECT min(id) FROM companies),
       'burst_' || md5(clock_timestamp()::text || g::text),
       'inbound',
       CASE WHEN g > %(calls)s - %(conflicting)s THEN 'callback_requested' END
  FROM generate_series(1, %(calls)s) AS g
 ORDER BY g
RETURNING id
