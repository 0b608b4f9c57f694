-- Give a throttle slot back (the send failed): the next run may retry at once.
DELETE FROM bg_notification_throttle WHERE throttle_key = %(key)s
