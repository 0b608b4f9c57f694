"""Database triggers against a real PostgreSQL: each effect, bulk statements, and deployment."""

from __future__ import annotations

import psycopg
import pytest

from booking_guard import detection, migrations
from tests.helpers import plant, query


@pytest.fixture
def db(migrated_db: str) -> str:
    query(migrated_db, "INSERT INTO companies (id, name) VALUES (1, 'a'), (2, 'b')")
    return migrated_db


def call(url: str, call_id: int) -> dict:
    rows = query(
        url,
        "SELECT direction, appointment_made, appointment_id, appointment_link_status,"
        " appointment_linked_at IS NOT NULL, session_outcome, customer_link_status,"
        " customer_link_method, customer_link_confidence, customer_linked_at IS NOT NULL"
        " FROM calls WHERE id = %s",
        (call_id,),
    )
    keys = [
        "direction",
        "made",
        "appointment_id",
        "link",
        "linked_at",
        "outcome",
        "customer_link",
        "method",
        "confidence",
        "customer_linked_at",
    ]
    return dict(zip(keys, rows[0], strict=True))


def alerts(url: str) -> list[tuple]:
    return query(
        url,
        "SELECT alert_type, entity_type, entity_id, auto_corrected, description"
        " FROM data_consistency_alerts ORDER BY id",
    )


def test_direction_defaults_to_inbound_with_an_alert(db: str) -> None:
    query(
        db,
        "INSERT INTO calls (company_id, direction) VALUES (1, NULL), (1, ''), (2, 'outbound')",
    )
    ids = [i for (i,) in query(db, "SELECT id FROM calls ORDER BY id")]
    assert [call(db, i)["direction"] for i in ids] == ["inbound", "inbound", "outbound"]
    static = "Call inserted without a direction; set to inbound."
    assert alerts(db) == [
        ("direction_defaulted", "call", ids[0], True, static),
        ("direction_defaulted", "call", ids[1], True, static),
    ]
    ((metadata, company, corrected),) = query(
        db,
        "SELECT metadata, company_id, corrected_at IS NOT NULL FROM data_consistency_alerts"
        " WHERE entity_id = %s",
        (ids[1],),
    )
    assert metadata["direction"] == {"before": "", "after": "inbound"}
    assert company == 1 and corrected and metadata["source"] == "trigger"


def test_customer_link_follows_customer_id_without_alerts(db: str) -> None:
    query(db, "INSERT INTO calls (id, company_id, direction) VALUES (1, 1, 'inbound')")
    assert call(db, 1)["customer_link"] == "unlinked"
    query(db, "UPDATE calls SET customer_id = 7 WHERE id = 1")
    state = call(db, 1)
    assert (state["customer_link"], state["method"], float(state["confidence"])) == (
        "linked",
        "phone_match",
        100.0,
    )
    assert state["customer_linked_at"]
    query(
        db,
        "INSERT INTO calls (id, company_id, direction, customer_id, customer_link_method,"
        " customer_link_confidence) VALUES (2, 1, 'inbound', 8, 'manual_link', 80)",
    )
    state = call(db, 2)
    assert (state["customer_link"], state["method"], float(state["confidence"])) == (
        "linked",
        "manual_link",
        80.0,
    )
    assert alerts(db) == []


def test_outcome_and_flag_agree_on_insert_and_update(db: str) -> None:
    query(
        db,
        "INSERT INTO calls (id, company_id, direction, session_outcome, appointment_made) VALUES"
        " (1, 1, 'inbound', 'appointment_booked', false),"
        " (2, 1, 'inbound', NULL, true),"
        " (3, 1, 'inbound', 'appointment_rescheduled', true),"
        " (4, 1, 'inbound', 'information_only', false)",
    )
    assert (call(db, 1)["made"], call(db, 1)["outcome"]) == (True, "appointment_booked")
    assert (call(db, 2)["made"], call(db, 2)["outcome"]) == (True, "appointment_booked")
    # An explicit other outcome is not overwritten (BEHAVIOUR §G-20): recorded, not corrected.
    assert (call(db, 3)["made"], call(db, 3)["outcome"]) == (True, "appointment_rescheduled")
    assert [(a[0], a[2], a[3]) for a in alerts(db)] == [
        ("session_outcome_mismatch", 1, True),
        ("appointment_made_mismatch", 2, True),
        ("session_outcome_conflict", 3, False),
    ]

    query(db, "UPDATE calls SET session_outcome = 'appointment_booked' WHERE id = 4")
    assert call(db, 4)["made"] is True
    assert alerts(db)[-1][:3] == ("session_outcome_mismatch", "call", 4)


def staged(url: str) -> int:
    """Audits staged by BEFORE ROW triggers and not yet written: none, once a statement ends."""
    return query(url, "SELECT count(*) FROM bg_call_corrections")[0][0]


def test_on_conflict_do_nothing_audits_only_rows_that_exist(db: str) -> None:
    query(db, "INSERT INTO calls (id, company_id, direction) VALUES (1, 1, 'inbound')")
    # Conflicts on the explicit id and on the retell id; the BEFORE trigger corrects both first.
    query(db, "UPDATE calls SET retell_call_id = 'r1' WHERE id = 1")
    query(
        db,
        "INSERT INTO calls (id, company_id, retell_call_id, direction, session_outcome,"
        " appointment_made) VALUES (1, 1, NULL, NULL, 'appointment_booked', false),"
        " (2, 1, 'r1', NULL, NULL, true), (3, 2, 'r3', '', NULL, false)"
        " ON CONFLICT DO NOTHING",
    )
    assert [i for (i,) in query(db, "SELECT id FROM calls ORDER BY id")] == [1, 3]
    assert [(a[0], a[2]) for a in alerts(db)] == [("direction_defaulted", 3)]
    assert call(db, 1)["direction"] == "inbound" and call(db, 1)["made"] is False
    assert staged(db) == 0


def test_on_conflict_do_update_audits_the_row_it_updated(db: str) -> None:
    query(
        db,
        "INSERT INTO calls (id, company_id, direction, session_outcome)"
        " VALUES (1, 1, 'inbound', NULL), (2, 1, 'outbound', NULL)",
    )
    query(
        db,
        "INSERT INTO calls (id, company_id, direction, session_outcome, appointment_made)"
        " VALUES (1, 1, NULL, 'appointment_booked', false), (5, 2, NULL, NULL, false)"
        " ON CONFLICT (id) DO UPDATE SET session_outcome = excluded.session_outcome",
    )
    # Row 1 existed: no direction default (it was not inserted), its update corrected the flag.
    # Row 5 was inserted: its direction was defaulted. Nothing for the insert that became row 1.
    assert [(a[0], a[2]) for a in alerts(db)] == [
        ("session_outcome_mismatch", 1),
        ("direction_defaulted", 5),
    ]
    assert (call(db, 1)["direction"], call(db, 1)["made"]) == ("inbound", True)
    assert call(db, 5)["direction"] == "inbound"
    assert staged(db) == 0


def test_a_rolled_back_statement_leaves_no_audit_and_nothing_staged(db: str) -> None:
    with psycopg.connect(db) as conn:
        conn.execute("INSERT INTO calls (id, company_id, direction) VALUES (1, 1, 'inbound')")
        with pytest.raises(psycopg.errors.UniqueViolation), conn.transaction():
            conn.execute(
                "INSERT INTO calls (id, company_id, direction) VALUES (2, 1, NULL), (1, 1, NULL)"
            )
        conn.execute("INSERT INTO calls (id, company_id, direction) VALUES (3, 1, NULL)")
    assert [(a[0], a[2]) for a in alerts(db)] == [("direction_defaulted", 3)]
    assert staged(db) == 0


def test_updates_that_do_not_touch_the_columns_do_no_work(db: str) -> None:
    plant(
        db,
        "INSERT INTO calls (id, company_id, direction, session_outcome, appointment_made)"
        " VALUES (1, 1, NULL, 'appointment_booked', false)",
    )
    query(db, "UPDATE calls SET duration_sec = 42, direction = NULL WHERE id = 1")
    assert (call(db, 1)["made"], call(db, 1)["direction"]) == (False, None)
    assert alerts(db) == []  # left for the monitor, which finds it
    assert {f.rule for f in _findings(db)} == {"session_outcome_mismatch", "missing_direction"}


def _findings(url: str):
    from booking_guard.seed import Truth

    run = detection.detect(url, full=True)
    rows = query(
        url,
        "SELECT rule_id, entity_type, entity_id, column_name FROM bg_rule_findings"
        " WHERE run_id = %s",
        (run.run_id,),
    )
    return {Truth(*r) for r in rows}


def test_appointment_lifecycle_keeps_the_call_in_step(db: str) -> None:
    query(
        db,
        "INSERT INTO calls (id, company_id, direction, session_outcome)"
        " VALUES (1, 1, 'inbound', NULL)",
    )
    query(db, "INSERT INTO appointments (id, company_id, call_id) VALUES (10, 1, 1)")
    linked = call(db, 1)
    assert (linked["made"], linked["appointment_id"], linked["link"], linked["outcome"]) == (
        True,
        10,
        "linked",
        "appointment_booked",
    )
    assert linked["linked_at"] and alerts(db) == []  # the normal booking path

    query(db, "UPDATE appointments SET deleted_at = now() WHERE id = 10")  # soft delete
    gone = call(db, 1)
    assert (gone["made"], gone["appointment_id"], gone["link"], gone["outcome"]) == (
        False,
        None,
        "unlinked",
        "appointment_cancelled",
    )
    assert not gone["linked_at"]
    assert alerts(db)[-1][:4] == ("appointment_unlinked", "call", 1, True)

    query(db, "UPDATE appointments SET deleted_at = NULL WHERE id = 10")  # restore
    back = call(db, 1)
    assert (back["made"], back["appointment_id"], back["link"], back["outcome"]) == (
        True,
        10,
        "linked",
        "appointment_booked",
    )
    assert alerts(db)[-1][:3] == ("appointment_linked", "call", 1)

    query(db, "DELETE FROM appointments WHERE id = 10")  # hard delete
    assert (call(db, 1)["made"], call(db, 1)["link"]) == (False, "unlinked")
    ((metadata,),) = query(
        db, "SELECT metadata FROM data_consistency_alerts ORDER BY id DESC LIMIT 1"
    )
    assert metadata["cause"] == "appointment_delete"
    assert metadata["appointment_id"] == {"before": 10, "after": None}


def test_late_linking_and_moving_an_appointment(db: str) -> None:
    query(
        db,
        "INSERT INTO calls (id, company_id, direction) VALUES (1, 1, 'inbound'), (2, 1, 'inbound')",
    )
    query(
        db,
        "INSERT INTO appointments (id, company_id, call_id, source)"
        " VALUES (10, 1, NULL, 'retell_webhook')",
    )
    assert call(db, 1)["made"] is False
    query(db, "UPDATE appointments SET call_id = 1 WHERE id = 10")  # linked later
    assert (call(db, 1)["made"], call(db, 1)["appointment_id"]) == (True, 10)

    query(db, "UPDATE appointments SET call_id = 2 WHERE id = 10")  # moved to another call
    assert (call(db, 1)["made"], call(db, 1)["link"]) == (False, "unlinked")
    assert (call(db, 2)["made"], call(db, 2)["appointment_id"]) == (True, 10)


def test_a_call_with_several_appointments_stays_linked_until_the_last_goes(db: str) -> None:
    query(db, "INSERT INTO calls (id, company_id, direction) VALUES (1, 1, 'inbound')")
    query(db, "INSERT INTO appointments (id, company_id, call_id) VALUES (10, 1, 1), (11, 1, 1)")
    assert call(db, 1)["appointment_id"] == 11  # the newest

    query(db, "UPDATE appointments SET deleted_at = now() WHERE id = 11")
    state = call(db, 1)
    assert (state["made"], state["appointment_id"], state["link"]) == (True, 10, "linked")

    query(db, "UPDATE appointments SET status = 'confirmed' WHERE id = 10")  # not a link change
    assert call(db, 1)["appointment_id"] == 10

    query(db, "DELETE FROM appointments WHERE id = 10")
    assert (call(db, 1)["made"], call(db, 1)["appointment_id"]) == (False, None)


def test_hostile_values_pass_through_untouched(db: str) -> None:
    hostile = "x'; DROP TABLE calls; -- \\ \" ünïcødé 😀 %s {batch}"
    query(
        db,
        "INSERT INTO calls (id, company_id, retell_call_id, customer_name, direction,"
        " session_outcome, appointment_made) VALUES (1, 1, %s, %s, NULL, %s, true)",
        (hostile, hostile, hostile),
    )
    ((rid, name, outcome),) = query(
        db, "SELECT retell_call_id, customer_name, session_outcome FROM calls WHERE id = 1"
    )
    assert rid == name == outcome == hostile
    for _, _, _, _, description in alerts(db):
        assert hostile not in description and "DROP" not in description
    ((metadata,),) = query(
        db,
        "SELECT metadata FROM data_consistency_alerts"
        " WHERE alert_type = 'session_outcome_conflict'",
    )
    assert metadata["session_outcome"] == hostile  # values live in metadata, as data


def test_batches_give_exactly_one_alert_per_corrected_row(db: str) -> None:
    query(
        db,
        "INSERT INTO calls (company_id, direction, session_outcome, appointment_made)"
        " SELECT 1 + i %% 2,"
        "        CASE WHEN i %% 3 = 0 THEN NULL ELSE 'inbound' END,"
        "        CASE WHEN i %% 5 = 0 THEN 'appointment_booked' ELSE 'information_only' END,"
        "        false"
        "   FROM generate_series(1, 10000) AS i",
    )
    expected_direction = {i for i in range(1, 10_001) if i % 3 == 0}
    expected_outcome = {i for i in range(1, 10_001) if i % 5 == 0}
    got = query(
        db, "SELECT alert_type, array_agg(entity_id) FROM data_consistency_alerts GROUP BY 1"
    )
    by_type = {t: ids for t, ids in got}
    assert sorted(by_type["direction_defaulted"]) == sorted(expected_direction)
    assert sorted(by_type["session_outcome_mismatch"]) == sorted(expected_outcome)
    assert set(by_type) == {"direction_defaulted", "session_outcome_mismatch"}

    query(db, "DELETE FROM data_consistency_alerts")
    query(
        db,
        "UPDATE calls SET session_outcome = 'appointment_booked', appointment_made = false"
        " WHERE id %% 7 = 0",
    )
    ((ids, corrected, wrong),) = query(
        db,
        "SELECT array_agg(entity_id ORDER BY entity_id), bool_and(auto_corrected),"
        " (SELECT count(*) FROM calls WHERE session_outcome = 'appointment_booked'"
        "   AND NOT appointment_made) FROM data_consistency_alerts"
        " WHERE alert_type = 'session_outcome_mismatch'",
    )
    assert ids == [i for i in range(1, 10_001) if i % 7 == 0] and corrected and wrong == 0
    assert query(db, "SELECT count(*) FROM data_consistency_alerts") == [(len(ids),)]
    assert staged(db) == 0


def test_a_batch_of_appointments_syncs_its_calls_in_one_statement(db: str) -> None:
    query(
        db,
        "INSERT INTO calls (id, company_id, direction) SELECT i, 1, 'inbound'"
        " FROM generate_series(1, 5000) i",
    )
    query(
        db,
        "INSERT INTO appointments (company_id, call_id) SELECT 1, i FROM generate_series(1, 5000) i"
        " WHERE i %% 2 = 0",
    )
    ((made, linked, wrong_ref),) = query(
        db,
        "SELECT count(*) FILTER (WHERE appointment_made),"
        " count(*) FILTER (WHERE appointment_link_status = 'linked'),"
        " count(*) FILTER (WHERE appointment_made AND NOT EXISTS (SELECT 1 FROM appointments a"
        "   WHERE a.id = calls.appointment_id AND a.call_id = calls.id)) FROM calls",
    )
    assert (made, linked, wrong_ref) == (2500, 2500, 0)
    assert alerts(db) == []


def test_the_monitor_finds_what_entered_with_triggers_off(db: str) -> None:
    plant(
        db,
        "INSERT INTO calls (id, company_id, direction, session_outcome, appointment_made)"
        " VALUES (1, 1, NULL, 'appointment_booked', false)",
    )
    plant(db, "INSERT INTO appointments (id, company_id, call_id) VALUES (10, 2, 1)")
    assert {(f.rule, f.entity_id) for f in _findings(db)} == {
        ("missing_direction", 1),
        ("session_outcome_mismatch", 1),
        ("cross_tenant_link", 10),
    }


OWNERS = {
    "bg_calls_before_write": None,  # the migrating user; runs as the writer, stages audits
    "bg_write_audit": "booking_guard_audit",
    "bg_trigger_alert": "booking_guard_audit",
    "bg_calls_write_audit": "booking_guard_audit",
    "bg_resync_calls": "booking_guard_sync",
    "bg_appointments_after_insert": "booking_guard_sync",
    "bg_appointments_after_update": "booking_guard_sync",
    "bg_appointments_after_delete": "booking_guard_sync",
}


def test_deploy_is_clean_up_and_down(db: str) -> None:
    functions = (
        "SELECT p.proname, p.proconfig, pg_get_userbyid(p.proowner), p.prosecdef,"
        " has_function_privilege('public', p.oid, 'EXECUTE'), p.prosrc"
        " FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
        " WHERE n.nspname = current_schema() AND p.proname LIKE 'bg\\_%%'"
    )
    triggers = (
        "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal AND tgname LIKE '%%bg\\_%%'"
        " AND tgname NOT LIKE 'bg\\_%%publish%%'"  # 0007's change events, not corrections
        " AND tgrelid IN ('calls'::regclass, 'appointments'::regclass)"
    )
    ((me,),) = query(db, "SELECT current_user")
    # The trigger functions (later migrations add functions of their own, e.g. the review
    # history's append-only guard).
    found = [row for row in query(db, functions) if row[0] in OWNERS]
    assert {name for name, *_ in found} == set(OWNERS)
    for name, config, owner, definer, public_execute, source in found:
        assert config[0] == "search_path=pg_catalog, public, pg_temp", name
        assert owner == (OWNERS[name] or me), name
        assert definer == (OWNERS[name] is not None), name
        assert not public_execute, name
        assert "EXECUTE " not in source.upper().replace("EXECUTE FUNCTION", ""), name
    assert len(query(db, triggers)) == 7
    assert migrations.upgrade(db) == []  # deploying twice is a no-op

    migrations.downgrade(db, "0002")
    assert query(db, functions) == [] and query(db, triggers) == []
    query(db, "INSERT INTO calls (id, company_id, direction) VALUES (1, 1, NULL)")
    assert call(db, 1)["direction"] is None  # no trigger left behind

    migrations.upgrade(db)
    restored = {name for name, *_ in query(db, functions)}
    assert restored >= set(OWNERS) and len(query(db, triggers)) == 7
