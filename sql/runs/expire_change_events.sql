-- Change events older than what a monitor run covers: that run sees those rows anyway (its window
-- or the full scan), so the table stays small even where no event path drains it.
DELETE FROM bg_change_events WHERE at < coalesce(%(covered_from)s, now())
