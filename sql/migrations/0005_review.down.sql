-- Removes the review history and the queue's working columns; queue items stay.
DROP TABLE IF EXISTS manual_review_history;
DROP FUNCTION IF EXISTS bg_review_history_append_only();
DROP INDEX IF EXISTS manual_review_queue_alert_idx;
ALTER TABLE manual_review_queue DROP COLUMN IF EXISTS checked_at, DROP COLUMN IF EXISTS alert_id;
