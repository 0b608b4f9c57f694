-- Atomic set-if-absent-or-expired: returns a row only when this caller may send now.
INSERT INTO bg_notification_throttle AS t (throttle_key, until)
VALUES (%(key)s, now() + make_interval(secs => %(seconds)s))
ON CONFLICT (throttle_key) DO UPDATE
   SET until = excluded.until
 WHERE t.until <= now()
RETURNING throttle_key
