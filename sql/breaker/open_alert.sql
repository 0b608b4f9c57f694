-- A circuit that opened becomes one open alert (fingerprint circuit_open:circuit:<key>);
-- opening again while that alert is open only refreshes it. entity_id is the circuit's row in
-- circuit_breaker_states (the breaker stores the transition before its listeners run; the row is
-- created here only if that write failed). The alert is written by bg_app_alert (migration
-- 0008): the booking application's role may not write alerts itself.
WITH existing AS (
    SELECT id FROM circuit_breaker_states WHERE circuit_key = %(circuit_key)s
), created AS (
    INSERT INTO circuit_breaker_states (company_id, circuit_key, state)
    SELECT %(company_id)s, %(circuit_key)s, 'open'
     WHERE NOT EXISTS (SELECT 1 FROM existing)
    ON CONFLICT (circuit_key) DO NOTHING
    RETURNING id
), circuit AS (
    SELECT id FROM existing
    UNION ALL
    SELECT id FROM created
)
SELECT a.alert_id, a.opened
  FROM circuit
 CROSS JOIN LATERAL bg_app_alert(
           'circuit_open', 'critical', 'circuit', circuit.id, %(company_id)s, %(circuit_key)s,
           'Circuit breaker opened: calls to this service are rejected until it recovers',
           %(metadata)s::jsonb, false) a
