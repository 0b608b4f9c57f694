"""Prevention migrations against a real PostgreSQL: up, down, SQL preview, refusal, lock."""

from __future__ import annotations

import io

import psycopg
import pytest

from booking_guard import migrations
from booking_guard.errors import MigrationError
from tests.helpers import query

PREVENTION_TABLES = {
    "circuit_breaker_states",
    "data_consistency_alerts",
    "manual_review_queue",
    "bg_check_runs",
    "bg_rule_findings",
    "bg_notification_throttle",
    "manual_review_history",
    "bg_report_figures",
    "bg_call_corrections",
    "bg_change_events",
    "bg_event_run_entities",
}
APP_TABLES = {
    "appointments",
    "calls",
    "companies",
    "customers",
    "retell_call_sessions",
    "retell_error_log",
}


def tables(url: str) -> set[str]:
    rows = query(url, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    return {name for (name,) in rows}


def test_up_down_up_on_a_fresh_database(app_db: str) -> None:
    status = migrations.status(app_db)
    assert status.current is None
    assert [rev for rev, _ in status.pending][:3] == ["0001", "0002", "0003"]

    applied = migrations.upgrade(app_db)
    assert [step.split(":")[0] for step in applied] == [f"up {rev}" for rev, _ in status.pending]
    assert applied[-1].startswith(f"up {status.head}")
    assert tables(app_db) == APP_TABLES | PREVENTION_TABLES | {migrations.VERSION_TABLE}
    assert migrations.status(app_db).up_to_date

    assert migrations.upgrade(app_db) == []  # deploying twice is a no-op

    query(app_db, "INSERT INTO companies (name) VALUES ('kept')")
    assert migrations.downgrade(app_db, "base")
    assert tables(app_db) == APP_TABLES  # everything the prevention system made is gone
    assert query(app_db, "SELECT name FROM companies") == [("kept",)]
    assert migrations.status(app_db).current is None

    migrations.upgrade(app_db)
    assert tables(app_db) >= PREVENTION_TABLES


TRIGGER_OBJECTS = (
    "SELECT p.proname, pg_get_userbyid(p.proowner), p.prosecdef, p.proacl::text,"
    " pg_get_functiondef(p.oid) FROM pg_proc p WHERE p.proname LIKE 'bg\\_%%'"
    " UNION ALL SELECT t.tgname, t.tgenabled::text, NULL, NULL, pg_get_triggerdef(t.oid)"
    " FROM pg_trigger t WHERE NOT t.tgisinternal"
    " ORDER BY 1"
)


def test_down_from_0004_restores_0003_exactly(app_db: str) -> None:
    migrations.upgrade(app_db, "0003")
    at_0003 = query(app_db, TRIGGER_OBJECTS)
    assert migrations.upgrade(app_db, "0004") == [
        "up 0004: Database roles (app, monitor, corrector) and trigger audits that are set-wise"
        " and never phantom."
    ]
    assert query(app_db, TRIGGER_OBJECTS) != at_0003
    migrations.downgrade(app_db, "0003")
    # definitions, owners, SECURITY DEFINER, EXECUTE grants and triggers: all as 0003 left them
    assert query(app_db, TRIGGER_OBJECTS) == at_0003
    assert "bg_call_corrections" not in tables(app_db)


def test_open_alert_is_unique_per_fingerprint(app_db: str) -> None:
    migrations.upgrade(app_db)
    insert = (
        "INSERT INTO data_consistency_alerts (alert_type, entity_type, entity_id, fingerprint,"
        " description, resolved_at) VALUES ('missing_direction', 'call', 1, 'fp', 'd', %s)"
    )
    with psycopg.connect(app_db, autocommit=True) as conn:
        conn.execute(insert, (None,))
        with pytest.raises(psycopg.errors.UniqueViolation):
            conn.execute(insert, (None,))
        conn.execute("UPDATE data_consistency_alerts SET resolved_at = now()")
        conn.execute(insert, (None,))  # a resolved alert does not block a new open one
        row = conn.execute(
            "SELECT severity, auto_corrected FROM data_consistency_alerts LIMIT 1"
        ).fetchone()
    assert row == ("warning", False)


def test_sql_preview_changes_nothing_and_is_what_upgrade_runs(app_db: str, empty_db: str) -> None:
    out = io.StringIO()
    assert migrations.upgrade(app_db, sql=True, out=out) == []
    script = out.getvalue()
    assert "CREATE TABLE data_consistency_alerts" in script
    assert "pg_advisory_xact_lock" in script
    assert tables(app_db) == APP_TABLES
    assert migrations.status(app_db).current is None

    # The printed script, run by hand, gives the same database as `migrate`.
    with psycopg.connect(app_db, autocommit=True) as conn:
        conn.execute(script)
    assert tables(app_db) >= PREVENTION_TABLES
    assert migrations.status(app_db).up_to_date

    down = io.StringIO()
    migrations.downgrade(app_db, "base", sql=True, out=down)
    assert "DROP TABLE IF EXISTS data_consistency_alerts" in down.getvalue()
    assert tables(app_db) >= PREVENTION_TABLES


def test_refuses_without_app_tables_and_leaves_nothing(empty_db: str) -> None:
    with pytest.raises(MigrationError) as caught:
        migrations.upgrade(empty_db)
    message = str(caught.value)
    assert "table appointments" in message and "table calls" in message
    assert "\n" not in message
    assert tables(empty_db) == set()


def test_refuses_naming_a_missing_column(app_db: str) -> None:
    query(app_db, "ALTER TABLE calls DROP COLUMN booking_failed")
    with pytest.raises(MigrationError, match=r"missing calls\.booking_failed \("):
        migrations.upgrade(app_db)
    assert tables(app_db) == APP_TABLES


def test_unknown_target_is_named(app_db: str) -> None:
    with pytest.raises(MigrationError, match="unknown migration target 'nope'"):
        migrations.upgrade(app_db, "nope")
    with pytest.raises(MigrationError, match="unknown migration target"):
        migrations.downgrade(app_db, "9999")


def test_a_second_deploy_waits_for_the_lock(app_db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(migrations, "LOCK_TIMEOUT", "300ms")
    with psycopg.connect(app_db, autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", (migrations.LOCK_KEY,))
        with pytest.raises(MigrationError, match="holds the lock"):
            migrations.upgrade(app_db)
    assert tables(app_db) == APP_TABLES
    assert migrations.upgrade(app_db)  # the lock released, the deploy goes through
