-- A circuit's state at a transition or a manual override (not at every call). Transitions of
-- several processes can arrive out of order: an older generation never overwrites a newer one.
INSERT INTO circuit_breaker_states AS c
       (company_id, circuit_key, state, failure_count, success_count, last_failure_at,
        opened_at, closed_at, metadata, created_at, updated_at)
VALUES (%(company_id)s, %(circuit_key)s, %(state)s, %(failure_count)s, %(success_count)s,
        %(last_failure_at)s, %(opened_at)s, %(closed_at)s, %(metadata)s, now(), now())
ON CONFLICT (circuit_key) DO UPDATE
   SET state = excluded.state,
       failure_count = excluded.failure_count,
       success_count = excluded.success_count,
       last_failure_at = excluded.last_failure_at,
       opened_at = excluded.opened_at,
       closed_at = excluded.closed_at,
       metadata = coalesce(c.metadata, '{}'::jsonb) || excluded.metadata,
       updated_at = now()
 WHERE coalesce((c.metadata ->> 'generation')::bigint, -1)
       <= (excluded.metadata ->> 'generation')::bigint
