"""Database roles against a real PostgreSQL: every trigger path, the check and the corrections run
as login users of the booking-guard group roles, not as superuser; what each may not do fails.

Each test makes its own login roles (unique names) and drops them; the group roles are the
cluster's and are never dropped here.
"""

from __future__ import annotations

import json
import uuid
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from booking_guard import migrations, reference_schema
from booking_guard.db import create_database, drop_database
from tests.helpers import ROLE_GROUPS, cli, plant, query

INTERNAL = ("booking_guard_audit", "booking_guard_sync")
ROLES = [f"booking_guard_{group}" for group in ROLE_GROUPS] + list(INTERNAL)


@pytest.fixture
def logins(logins: dict[str, str], migrated_db: str) -> dict[str, str]:
    """The login users of conftest, in a database with two companies."""
    query(migrated_db, "INSERT INTO companies (id, name) VALUES (1, 'a'), (2, 'b')")
    return logins


def denied(url: str, sql: str) -> bool:
    """True when the statement fails for lack of a privilege (and changes nothing)."""
    try:
        query(url, sql)
    except psycopg.errors.InsufficientPrivilege:
        return True
    return False


def audit(url: str) -> list[tuple[str, int]]:
    return query(url, "SELECT alert_type, entity_id FROM data_consistency_alerts ORDER BY id")


def test_the_app_role_runs_every_trigger_path(migrated_db: str, logins: dict[str, str]) -> None:
    app = logins["app"]
    query(
        app,
        "INSERT INTO calls (id, company_id, direction, session_outcome, appointment_made,"
        " customer_id) VALUES (1, 1, NULL, 'appointment_booked', false, NULL),"
        " (2, 1, 'inbound', NULL, true, 7),"
        " (3, 1, 'inbound', 'appointment_rescheduled', true, NULL),"
        " (4, 1, 'inbound', NULL, false, NULL), (5, 1, 'inbound', NULL, false, NULL)",
    )
    query(app, "UPDATE calls SET session_outcome = 'appointment_booked' WHERE id = 4")
    query(app, "UPDATE calls SET customer_id = 8 WHERE id = 5")
    query(
        app,
        "INSERT INTO calls (id, company_id, direction) VALUES (1, 1, NULL), (6, 1, '')"
        " ON CONFLICT DO NOTHING",
    )
    query(
        app, "INSERT INTO appointments (id, company_id, call_id) VALUES (10, 1, 5), (11, 1, NULL)"
    )
    query(app, "UPDATE appointments SET deleted_at = now() WHERE id = 10")  # soft delete
    query(app, "UPDATE appointments SET deleted_at = NULL WHERE id = 10")  # restore
    query(app, "UPDATE appointments SET call_id = 5 WHERE id = 11")  # linked later
    query(app, "UPDATE appointments SET call_id = 3 WHERE id = 11")  # moved
    query(app, "DELETE FROM appointments WHERE id = 10")  # hard delete
    query(
        app,
        "SELECT bg_trigger_alert('appointment_rollback', 'warning', 'call', 5, 1,"
        " 'Booking rolled back.', '{}', false)",
    )  # the app's own audit row
    query(app, "INSERT INTO manual_review_queue (company_id, call_id, reason) VALUES (1, 5, 'x')")
    checked = cli("check-call", "5", url=app)  # what the app runs after a booking: reads only
    assert checked.returncode in (0, 1, 2), checked.stderr

    assert audit(migrated_db) == [
        ("direction_defaulted", 1),
        ("session_outcome_mismatch", 1),
        ("appointment_made_mismatch", 2),
        ("session_outcome_conflict", 3),
        ("session_outcome_mismatch", 4),
        ("direction_defaulted", 6),
        ("appointment_unlinked", 5),  # soft delete
        ("appointment_linked", 5),  # restore
        ("appointment_linked", 5),  # 11 linked later: the newest
        ("appointment_linked", 3),  # 11 moved to call 3 ...
        ("appointment_linked", 5),  # ... and call 5 back to 10
        ("appointment_unlinked", 5),  # hard delete
        ("appointment_rollback", 5),
    ]
    assert query(
        migrated_db,
        "SELECT id, direction, appointment_made, appointment_id, appointment_link_status,"
        " session_outcome, customer_link_status FROM calls ORDER BY id",
    ) == [
        (1, "inbound", True, None, "unlinked", "appointment_booked", "unlinked"),
        (2, "inbound", True, None, "unlinked", "appointment_booked", "linked"),
        (3, "inbound", True, 11, "linked", "appointment_rescheduled", "unlinked"),
        (4, "inbound", True, None, "unlinked", "appointment_booked", "unlinked"),
        (5, "inbound", False, None, "unlinked", "appointment_cancelled", "linked"),
        (6, "inbound", False, None, "unlinked", None, "unlinked"),
    ]


def test_the_app_role_writes_audit_rows_only_through_the_definer_function(
    migrated_db: str, logins: dict[str, str]
) -> None:
    app = logins["app"]
    for statement in (
        "INSERT INTO data_consistency_alerts (alert_type, entity_type, description)"
        " VALUES ('x', 'call', 'forged')",
        "UPDATE data_consistency_alerts SET resolved_at = now()",
        "DELETE FROM data_consistency_alerts",
        "SELECT count(*) FROM data_consistency_alerts",
        "SELECT bg_write_audit(NULL)",
        "SELECT bg_resync_calls(ARRAY[1::bigint], 'x')",
        "SELECT count(*) FROM bg_call_corrections",
        "ALTER TABLE calls DISABLE TRIGGER USER",
        "UPDATE manual_review_queue SET status = 'dismissed'",
    ):
        assert denied(app, statement), statement
    assert audit(migrated_db) == []


def test_the_app_raises_and_resolves_only_its_own_alert_types(
    migrated_db: str, logins: dict[str, str]
) -> None:
    app = logins["app"]
    plant(
        migrated_db,
        "INSERT INTO data_consistency_alerts (alert_type, entity_type, entity_id, fingerprint,"
        " description)"
        " VALUES ('missing_appointment', 'call', 1, 'missing_appointment:call:1', 'd')",
    )
    raise_alert = "SELECT * FROM bg_app_alert(%s, 'critical', 'call', 1, 1, '1', 'd', '{}', true)"
    opened = query(app, raise_alert, ("appointment_rollback",))
    again = query(app, raise_alert, ("appointment_rollback",))
    assert [row[1] for row in opened + again] == [True, False]  # one open alert, refreshed
    for forged in ("missing_appointment", "session_outcome_mismatch", None):
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            query(app, raise_alert, (forged,))
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            query(app, "SELECT bg_app_resolve_alert(%s, 'call', '1', 'x')", (forged,))
    assert query(app, "SELECT bg_app_resolve_alert('appointment_rollback', 'call', '1', 'x')") == [
        (1,)
    ]
    assert query(
        migrated_db,
        "SELECT alert_type, resolved_at IS NOT NULL FROM data_consistency_alerts ORDER BY id",
    ) == [("missing_appointment", False), ("appointment_rollback", True)]


def test_the_check_runs_as_a_monitor_login(migrated_db: str, logins: dict[str, str]) -> None:
    plant(
        migrated_db,
        "INSERT INTO calls (id, company_id, direction, session_outcome, appointment_made)"
        " VALUES (1, 1, NULL, 'appointment_booked', false), (2, 1, 'inbound', NULL, false)",
    )
    plant(migrated_db, "INSERT INTO appointments (id, company_id, call_id) VALUES (10, 2, 2)")
    result = cli("check", "--no-notify", "--no-docs", "--json", url=logins["monitor"])
    assert result.returncode == 2, result.stderr
    report = json.loads(result.stdout)
    found = {r["rule_id"]: r["sample_ids"] for r in report["rules"] if r["count"]}
    assert found["missing_direction"] == [1] and found["cross_tenant_link"] == [10]
    assert report["alerts"]["opened"] == sum(r["count"] for r in report["rules"])
    status = cli("status", url=logins["monitor"])
    assert status.returncode == 0 and "cross_tenant_link" in status.stdout, status.stderr

    monitor = logins["monitor"]
    for statement in (
        "UPDATE calls SET direction = 'inbound' WHERE id = 1",
        "UPDATE appointments SET call_id = 1 WHERE id = 10",
        "INSERT INTO calls (company_id) VALUES (1)",
        "DELETE FROM calls",
        "UPDATE data_consistency_alerts SET description = 'x'",
        "DELETE FROM data_consistency_alerts",
        "UPDATE circuit_breaker_states SET state = 'open'",
        "INSERT INTO manual_review_queue (call_id, reason) VALUES (1, 'x')",
        "SELECT bg_trigger_alert('x', 'info', 'call', 1, 1, 'x', '{}', false)",
    ):
        assert denied(monitor, statement), statement
    query(monitor, "UPDATE data_consistency_alerts SET notified_at = now()")  # tracking columns
    assert query(migrated_db, "SELECT direction FROM calls WHERE id = 1") == [(None,)]


def test_corrections_run_as_a_corrector_login(migrated_db: str, logins: dict[str, str]) -> None:
    plant(
        migrated_db,
        "INSERT INTO calls (id, company_id, direction, session_outcome, appointment_made,"
        " booking_id) VALUES (1, 1, NULL, NULL, false, NULL),"
        " (2, 1, 'inbound', NULL, false, 'b2'), (3, 1, 'inbound', NULL, false, 'b3')",
    )
    plant(
        migrated_db,
        "INSERT INTO appointments (id, company_id, call_id, calcom_v2_booking_id, source)"
        " VALUES (10, 1, NULL, 'b3', 'retell_webhook')",
    )
    corrector = logins["corrector"]
    # The columns auto-corrections touch; each write fires the triggers under this role.
    query(corrector, "UPDATE calls SET direction = 'inbound', updated_at = now() WHERE id = 1")
    query(corrector, "UPDATE calls SET appointment_made = true WHERE id = 2")
    query(corrector, "UPDATE appointments SET call_id = 3, updated_at = now() WHERE id = 10")
    query(
        corrector,
        "INSERT INTO manual_review_queue (company_id, call_id, reason, dedup_key)"
        " VALUES (1, 2, 'missing_appointment', 'k')",
    )
    query(corrector, "UPDATE manual_review_queue SET priority = 1 WHERE dedup_key = 'k'")
    query(
        corrector,
        "INSERT INTO data_consistency_alerts (alert_type, entity_type, entity_id, description,"
        " auto_corrected, corrected_at) VALUES ('missing_direction', 'call', 1, 'd', true, now())",
    )

    assert query(
        migrated_db,
        "SELECT id, direction, appointment_made, appointment_id, appointment_link_status,"
        " session_outcome FROM calls ORDER BY id",
    ) == [
        (1, "inbound", False, None, "unlinked", None),
        (2, "inbound", True, None, "unlinked", "appointment_booked"),
        (3, "inbound", True, 10, "linked", "appointment_booked"),
    ]
    # session_outcome of call 3 was set by the sync trigger, which the corrector may not do.
    assert audit(migrated_db) == [
        ("appointment_made_mismatch", 2),
        ("appointment_linked", 3),
        ("missing_direction", 1),
    ]

    for statement in (
        "UPDATE calls SET session_outcome = 'appointment_booked' WHERE id = 1",
        "UPDATE calls SET customer_id = 1 WHERE id = 1",
        "UPDATE calls SET booking_failed = true WHERE id = 1",
        "UPDATE appointments SET deleted_at = now() WHERE id = 10",
        "UPDATE appointments SET calcom_v2_booking_id = 'x' WHERE id = 10",
        "INSERT INTO calls (company_id) VALUES (1)",
        "DELETE FROM appointments",
        "UPDATE data_consistency_alerts SET auto_corrected = false",
        "DELETE FROM manual_review_queue",
    ):
        assert denied(corrector, statement), statement


def test_internal_roles_hold_only_what_their_functions_need(migrated_db: str) -> None:
    privileges = query(
        migrated_db,
        "SELECT r.rolname, c.relname, p.privilege"
        " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'"
        " CROSS JOIN unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE',"
        "  'REFERENCES', 'TRIGGER']) AS p (privilege)"
        " CROSS JOIN pg_roles r"
        " WHERE c.relkind = 'r' AND r.rolname = ANY (%s)"
        "   AND has_table_privilege(r.oid, c.oid, p.privilege)"
        " ORDER BY 1, 2, 3",
        (list(INTERNAL),),
    )
    assert privileges == [
        ("booking_guard_audit", "bg_call_corrections", "DELETE"),
        ("booking_guard_audit", "bg_call_corrections", "SELECT"),
        ("booking_guard_audit", "bg_change_events", "INSERT"),  # 0007: publishing changes
        ("booking_guard_audit", "data_consistency_alerts", "INSERT"),
        ("booking_guard_audit", "data_consistency_alerts", "SELECT"),  # 0008: the app's alerts
        ("booking_guard_sync", "appointments", "SELECT"),
        ("booking_guard_sync", "bg_call_corrections", "INSERT"),
        ("booking_guard_sync", "calls", "SELECT"),
    ]
    updatable = (
        "SELECT c.relname, array_agg(a.attname ORDER BY a.attname) FROM pg_attribute a"
        " JOIN pg_class c ON c.oid = a.attrelid"
        " WHERE c.relname IN ('calls', 'appointments', 'data_consistency_alerts')"
        "   AND a.attnum > 0 AND has_column_privilege(%s, c.oid, a.attnum, 'UPDATE')"
        " GROUP BY 1"
    )
    # the tracking columns of an open alert, which bg_app_alert refreshes and resolves
    assert query(migrated_db, updatable, ("booking_guard_audit",)) == [
        (
            "data_consistency_alerts",
            [
                "description",
                "last_seen_at",
                "metadata",
                "notified_at",
                "resolution_notes",
                "resolved_at",
                "severity",
                "updated_at",
            ],
        )
    ]
    assert query(migrated_db, updatable, ("booking_guard_sync",)) == [
        (
            "calls",
            [
                "appointment_id",
                "appointment_link_status",
                "appointment_linked_at",
                "appointment_made",
                "session_outcome",
                "updated_at",
            ],
        )
    ]
    assert query(
        migrated_db,
        "SELECT rolname, rolcanlogin, rolsuper, rolinherit,"
        " EXISTS (SELECT 1 FROM pg_auth_members m WHERE m.roleid = r.oid)"
        " FROM pg_roles r WHERE rolname = ANY (%s) ORDER BY 1",
        (list(INTERNAL),),
    ) == [(name, False, False, True, False) for name in INTERNAL]


# What this database holds that depends on a booking-guard role: grants and owned objects.
DEPENDENCIES = (
    "SELECT count(*) FROM pg_shdepend d JOIN pg_roles r ON r.oid = d.refobjid"
    " WHERE r.rolname = ANY (%s)"
    "   AND (d.dbid = (SELECT oid FROM pg_database WHERE datname = current_database())"
    "        OR d.classid = 'pg_database'::regclass"
    "           AND d.objid = (SELECT oid FROM pg_database WHERE datname = current_database()))"
)


def test_down_revokes_everything_and_leaves_the_roles(migrated_db: str) -> None:
    def dependencies() -> int:
        return query(migrated_db, DEPENDENCIES, (ROLES,))[0][0]

    assert dependencies() > 0
    migrations.downgrade(migrated_db, "0003")
    assert dependencies() == 0
    assert query(
        migrated_db, "SELECT count(*) FROM pg_roles WHERE rolname = ANY (%s)", (ROLES,)
    ) == [(len(ROLES),)]
    migrations.upgrade(migrated_db)  # the roles exist already: granted again, nothing created
    assert dependencies() > 0
    migrations.downgrade(migrated_db, "base")
    assert dependencies() == 0


def test_databases_migrate_concurrently(app_db: str) -> None:
    """Two databases of one cluster deploy at once (two processes): the shared roles are no
    obstacle."""
    other = urlunsplit(urlsplit(app_db)._replace(path=f"/bg_test_{uuid.uuid4().hex[:12]}"))
    create_database(other)
    try:
        reference_schema.install(other)
        with ThreadPoolExecutor(max_workers=2) as pool:
            runs = list(pool.map(lambda url: cli("migrate", url=url), [app_db, other]))
        assert [r.returncode for r in runs] == [0, 0], [r.stderr for r in runs]
        assert all("applied up 0004" in r.stdout for r in runs)
        for url in (app_db, other):
            assert query(
                url, "SELECT has_table_privilege('booking_guard_monitor', 'calls', 'SELECT')"
            ) == [(True,)]
    finally:
        drop_database(other)
