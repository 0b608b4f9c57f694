"""Detection rules on a seeded database: exactly the planted findings, full and incremental."""

from __future__ import annotations

from datetime import timedelta

import pytest

from booking_guard import detection, rules
from booking_guard.seed import Truth
from tests.helpers import ANCHOR, plant, query


def findings(url: str, run_id: int) -> set[Truth]:
    rows = query(
        url,
        "SELECT rule_id, entity_type, entity_id, column_name FROM bg_rule_findings"
        " WHERE run_id = %s",
        (run_id,),
    )
    return {Truth(*row) for row in rows}


def test_full_scan_finds_exactly_the_planted_defects(seeded) -> None:
    url, truth = seeded
    run = detection.detect(url, full=True)
    found = findings(url, run.run_id)
    for rule in rules.RULES:  # recall and precision 100 %, rule by rule
        planted = {t for t in truth if t.rule == rule.id}
        got = {t for t in found if t.rule == rule.id}
        assert planted, rule.id
        assert got == planted, (rule.id, len(got - planted), len(planted - got))
    assert run.counts == {r.id: sum(t.rule == r.id for t in truth) for r in rules.RULES}


def test_incremental_run_sees_only_the_window(seeded) -> None:
    url, _ = seeded
    since = ANCHOR + timedelta(hours=1)
    assert detection.detect(url, since=since).total == 0  # nothing changed after the seed

    # New defects after `since`: on both sides of the call <-> appointment link.
    plant(url, "UPDATE calls SET direction = NULL, updated_at = %s WHERE id = 5", (since,))
    ((booked_call, appointment),) = query(
        url,
        "SELECT c.id, a.id FROM calls c JOIN appointments a ON a.call_id = c.id"
        " WHERE c.deleted_at IS NULL AND a.deleted_at IS NULL AND c.appointment_made"
        " AND c.direction IS NOT NULL AND c.id <> 5 ORDER BY c.id LIMIT 1",
    )
    # Soft-deleted past the triggers, only the appointment changes: the call becomes a finding.
    plant(
        url,
        "UPDATE appointments SET deleted_at = %s, updated_at = %s WHERE id = %s",
        (since, since, appointment),
    )
    run = detection.detect(url, since=since)
    assert run.mode == "incremental"
    assert "link_backref_mismatch" not in run.counts  # full scan only
    assert findings(url, run.run_id) == {
        Truth("missing_direction", "call", 5),
        Truth("missing_appointment", "call", booked_call),
    }


def test_incremental_default_window_starts_at_the_last_successful_run(seeded) -> None:
    url, _ = seeded
    first = detection.detect(url)  # no successful run yet: a full scan
    assert first.mode == "full"
    detection.finish_run(url, first, succeeded=True)
    second = detection.detect(url)
    assert second.mode == "incremental"
    ((started,),) = query(
        url, "SELECT started_at FROM bg_check_runs WHERE id = %s", (first.run_id,)
    )
    assert second.window_start == started - detection.WINDOW_OVERLAP


def test_soft_deleted_rows_are_not_live_data(migrated_db: str) -> None:
    query(migrated_db, "INSERT INTO companies (id, name) VALUES (1, 'c')")
    plant(
        migrated_db,
        "INSERT INTO calls (id, company_id, direction, session_outcome, appointment_made,"
        " deleted_at) VALUES (1, 1, NULL, 'appointment_booked', false, now()),"
        " (2, 1, '', 'appointment_booked', false, NULL)",
    )
    run = detection.detect(migrated_db, full=True)
    assert findings(migrated_db, run.run_id) == {
        Truth("missing_direction", "call", 2),
        Truth("session_outcome_mismatch", "call", 2),
    }


@pytest.mark.parametrize(
    ("setup", "expected"),
    [
        # BEHAVIOUR §B.2 in its order, then the rules the original missed.
        (
            "UPDATE calls SET session_outcome = 'appointment_booked', appointment_made = false,"
            " direction = NULL WHERE id = 1",
            ["session_outcome_mismatch", "missing_direction"],
        ),
        (
            "UPDATE calls SET appointment_made = true, appointment_link_status = 'pending',"
            " session_outcome = 'appointment_booked' WHERE id = 1",
            ["missing_appointment", "inconsistent_link_status", "invalid_value"],
        ),
        ("UPDATE calls SET deleted_at = now(), direction = NULL WHERE id = 1", []),
    ],
)
def test_check_call(migrated_db: str, setup: str, expected: list[str]) -> None:
    query(migrated_db, "INSERT INTO companies (id, name) VALUES (1, 'c'), (2, 'd')")
    query(
        migrated_db,
        "INSERT INTO calls (id, company_id, retell_call_id, direction, session_outcome,"
        " appointment_made, appointment_link_status) VALUES"
        " (1, 1, 'call_x', 'inbound', 'information_only', false, 'not_applicable')",
    )
    assert detection.check_call(migrated_db, 1) == []
    plant(migrated_db, setup)
    findings = detection.check_call(migrated_db, 1)
    assert [f.rule.id for f in findings] == expected
    for finding in findings:
        assert (finding.entity_type, finding.entity_id) in {("call", 1)}


def test_check_call_covers_the_call_s_appointments(migrated_db: str) -> None:
    query(migrated_db, "INSERT INTO companies (id, name) VALUES (1, 'c'), (2, 'd')")
    query(
        migrated_db,
        "INSERT INTO calls (id, company_id, direction, session_outcome, appointment_made,"
        " appointment_link_status, appointment_id)"
        " VALUES (1, 1, 'inbound', 'appointment_booked', true, 'linked', 10)",
    )
    plant(
        migrated_db,
        "INSERT INTO appointments (id, company_id, call_id, calcom_v2_booking_id, status)"
        " VALUES (10, 2, 1, 'bk', 'booked'), (11, 1, NULL, 'bk', 'scheduled')",
    )
    findings = detection.check_call(migrated_db, 1)
    assert [(f.rule.id, f.entity_id) for f in findings] == [
        ("cross_tenant_link", 10),
        ("duplicate_booking_id", 10),
        ("invalid_value", 10),
    ]
    assert findings[2].column == "status"


def test_findings_are_kept_for_the_last_runs_and_never_pruned_under_a_running_one(seeded) -> None:
    url, _ = seeded
    running = detection.detect(url, full=True)  # still being validated elsewhere
    finished = []
    for _ in range(4):
        run = detection.detect(url, full=True)
        detection.finish_run(url, run, succeeded=True)
        finished.append(run.run_id)
    kept = {r for (r,) in query(url, "SELECT DISTINCT run_id FROM bg_rule_findings")}
    assert kept == {running.run_id, *finished[-detection.KEEP_FINDING_RUNS :]}


def test_scheduled_runs_catch_up_from_the_last_successful_run(seeded) -> None:
    from booking_guard.monitor import detect
    from booking_guard.settings import Settings

    url, _ = seeded
    first = detection.detect(url, full=True)
    detection.finish_run(url, first, succeeded=True)
    ((started,),) = query(
        url, "SELECT started_at FROM bg_check_runs WHERE id = %s", (first.run_id,)
    )
    # The monitor was down: the next interval starts an hour after the last successful run.
    later = started + timedelta(hours=1)
    settings = Settings(database_url=url, full_scan_at=None)
    run = detect(settings, interval=(later, later + timedelta(minutes=5)))
    assert run.mode == "incremental"
    assert run.window_start == started - detection.WINDOW_OVERLAP
    explicit = detection.detect(url, since=later)  # an explicit --since is taken as given
    assert explicit.window_start == later
