-- A circuit that closed resolves its open circuit_open alert, if any (bg_app_resolve_alert,
-- migration 0008: the booking application's role may not update alerts itself).
SELECT bg_app_resolve_alert('circuit_open', 'circuit', %(circuit_key)s,
                            'circuit closed: ' || %(reason)s)
