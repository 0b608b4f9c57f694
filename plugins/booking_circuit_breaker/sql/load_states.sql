-- The durable copy of circuits: one (%(circuit_key)s) or, with NULL, every one.
SELECT circuit_key, state, failure_count, success_count, last_failure_at, opened_at, closed_at,
       coalesce((metadata ->> 'generation')::bigint, 0) AS generation,
       coalesce((metadata ->> 'forced')::boolean, false) AS forced
  FROM circuit_breaker_states
 WHERE %(circuit_key)s::text IS NULL OR circuit_key = %(circuit_key)s::text
 ORDER BY circuit_key
