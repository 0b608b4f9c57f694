-- Removes every trigger and function of 0003; the app tables and their data are untouched.
DROP TRIGGER IF EXISTS bg_appointments_after_delete ON appointments;
DROP TRIGGER IF EXISTS bg_appointments_after_update ON appointments;
DROP TRIGGER IF EXISTS bg_appointments_after_insert ON appointments;
DROP TRIGGER IF EXISTS zz_bg_calls_before_update ON calls;
DROP TRIGGER IF EXISTS zz_bg_calls_before_insert ON calls;
DROP FUNCTION IF EXISTS bg_appointments_after_delete();
DROP FUNCTION IF EXISTS bg_appointments_after_update();
DROP FUNCTION IF EXISTS bg_resync_calls(bigint[], text);
DROP FUNCTION IF EXISTS bg_appointments_after_insert();
DROP FUNCTION IF EXISTS bg_calls_before_write();
DROP FUNCTION IF EXISTS bg_trigger_alert(text, text, text, bigint, bigint, text, jsonb, boolean);
