-- Whether change events wait to be drained (a listener that was away asks after reconnecting).
SELECT EXISTS (SELECT 1 FROM bg_change_events)
