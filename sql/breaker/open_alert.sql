-- A circuit that opened becomes one open alert (fingerprint circuit_open:circuit:<key>);
-- opening again while that alert is open only moves its last_seen_at. entity_id is the
-- circuit's row in circuit_breaker_states (the breaker stores the transition before its
-- listeners run; the row is created here only if that write failed).
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
INSERT INTO data_consistency_alerts AS al
       (company_id, alert_type, severity, entity_type, entity_id, fingerprint, description,
        metadata, detected_at, last_seen_at)
SELECT %(company_id)s, 'circuit_open', 'critical', 'circuit', circuit.id,
       'circuit_open:circuit:' || %(circuit_key)s,
       'Circuit breaker opened: calls to this service are rejected until it recovers',
       %(metadata)s::jsonb, now(), now()
  FROM circuit
ON CONFLICT (fingerprint) WHERE resolved_at IS NULL AND fingerprint IS NOT NULL
DO UPDATE SET last_seen_at = now(), metadata = excluded.metadata, updated_at = now()
RETURNING al.id, (al.xmax = 0) AS opened
