-- Removes the app's alert functions and what booking_guard_audit was granted for them.
DROP FUNCTION IF EXISTS bg_app_alert(text, text, text, bigint, bigint, text, text, jsonb, boolean);
DROP FUNCTION IF EXISTS bg_app_resolve_alert(text, text, text, text);
REVOKE SELECT, UPDATE ON data_consistency_alerts FROM booking_guard_audit;
