-- The review queue's working state and its append-only history.
--
-- alert_id: the alert an item was queued for. An alert is queued once, whatever happens to the
--   item later: a dismissed finding does not come back while its alert stays open; a finding
--   that returns after its alert was resolved is a new alert, and a new item.
-- checked_at: the last automatic re-check; a processor takes only items not re-checked lately,
--   so two processors running at once never take the same item, even one after the other.
ALTER TABLE manual_review_queue
    ADD COLUMN alert_id bigint REFERENCES data_consistency_alerts (id) ON DELETE SET NULL,
    ADD COLUMN checked_at timestamptz;
CREATE INDEX manual_review_queue_alert_idx ON manual_review_queue (alert_id);

-- Who did what to an item, when, and why: people (resolve, dismiss, reopen) and booking-guard
-- (queued, auto_resolved, escalated). No foreign key to the item: the history outlives an item
-- removed with its call (ON DELETE CASCADE), and must not block that delete.
CREATE TABLE manual_review_history (
    id          bigserial PRIMARY KEY,
    item_id     bigint NOT NULL,
    action      text NOT NULL
                CHECK (action IN ('queued', 'resolved', 'dismissed', 'reopened',
                                  'auto_resolved', 'escalated')),
    status      text NOT NULL,  -- the item's status after the action
    actor       text NOT NULL,
    notes       text,
    at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX manual_review_history_item_idx ON manual_review_history (item_id, id);

CREATE FUNCTION bg_review_history_append_only() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    RAISE EXCEPTION 'manual_review_history is append-only (% refused)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER bg_review_history_append_only
    BEFORE UPDATE OR DELETE ON manual_review_history
    FOR EACH STATEMENT
    EXECUTE FUNCTION bg_review_history_append_only();

-- The roles of 0004: the corrector works the queue (its actions and booking-guard's are history
-- rows), the app queues a failed booking with its first history row, the monitor reads.
GRANT SELECT, INSERT ON manual_review_history TO booking_guard_corrector, booking_guard_app;
GRANT SELECT ON manual_review_history TO booking_guard_monitor;
GRANT USAGE ON SEQUENCE manual_review_history_id_seq
    TO booking_guard_corrector, booking_guard_app;
