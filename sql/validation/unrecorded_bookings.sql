-- Of the Cal.com booking uids given, how many no live appointment records.
SELECT count(*)::int
  FROM unnest(%(uids)s::text[]) AS u (uid)
 WHERE NOT EXISTS (SELECT 1 FROM appointments a
                    WHERE a.calcom_v2_booking_id = u.uid AND a.deleted_at IS NULL)
