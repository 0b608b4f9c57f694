-- Removes what 0001 created; the app tables are untouched.
DROP TABLE IF EXISTS manual_review_queue;
DROP TABLE IF EXISTS data_consistency_alerts;
DROP TABLE IF EXISTS circuit_breaker_states;
