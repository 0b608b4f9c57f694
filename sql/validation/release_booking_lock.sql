-- Give back the call's booking lock (call_for_booking.sql took it).
SELECT pg_advisory_unlock(%(namespace)s, (%(call_id)s::bigint %% 2147483647)::int)
