DROP TABLE IF EXISTS bg_notification_throttle;
DROP TABLE IF EXISTS bg_rule_findings;
DROP TABLE IF EXISTS bg_check_runs;
