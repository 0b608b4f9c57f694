"""Auto-corrections against real PostgreSQL, with the database triggers installed."""

from __future__ import annotations

import threading
import time
from dataclasses import replace

import psycopg
import pytest

from booking_guard import alerts, corrections, detection
from booking_guard.errors import BookingGuardError
from booking_guard.settings import Settings
from tests.helpers import plant, query

ALLOWED_COLUMNS = {
    "missing_direction": {("calls", "direction")},
    "session_outcome_mismatch": {("calls", "appointment_made")},
    "inconsistent_link_status": {
        ("calls", "appointment_link_status"),
        ("calls", "appointment_linked_at"),
    },
    "link_backref_mismatch": {("calls", "appointment_id")},
    # The appointment's call_id; the appointments trigger then re-derives the linked call.
    "orphaned_appointment": {
        ("appointments", "call_id"),
        ("calls", "appointment_made"),
        ("calls", "appointment_id"),
        ("calls", "appointment_link_status"),
        ("calls", "appointment_linked_at"),
        ("calls", "session_outcome"),
    },
}
TABLES = ("calls", "appointments")


def detect(url: str) -> int:
    """A full detection run with its alerts recorded, as the monitor DAG leaves it."""
    run = detection.detect(url, full=True)
    alerts.record(url, run)
    detection.finish_run(url, run, succeeded=True)
    return run.run_id


def snapshot(url: str, tables: tuple[str, ...] = TABLES) -> dict[tuple[str, int], dict]:
    rows: dict[tuple[str, int], dict] = {}
    for table in tables:
        for (row,) in query(url, f"SELECT to_jsonb(t) FROM {table} t"):
            rows[(table, row["id"])] = row
    return rows


def changed_cells(before: dict, after: dict) -> set[tuple[str, int, str]]:
    assert before.keys() == after.keys(), "rows appeared or disappeared"
    return {
        (table, row_id, column)
        for (table, row_id), row in after.items()
        for column, value in row.items()
        if before[(table, row_id)][column] != value
    }


def audit_rows(url: str) -> list[tuple]:
    return query(
        url,
        "SELECT alert_type, entity_id, metadata->>'source' FROM data_consistency_alerts"
        " WHERE auto_corrected ORDER BY id",
    )


def test_each_correction_fixes_exactly_its_planted_rows(seeded) -> None:
    url, truth = seeded
    run_id = detect(url)
    for rule in corrections.correctable_rules():
        planted = {t.entity_id for t in truth if t.rule == rule.id}
        audits_before = len(audit_rows(url))
        before = snapshot(url)
        result = corrections.correct(url, run_id, rule.id, max_rows=10_000)
        after = snapshot(url)

        fixed = {c.entity_id for c in result.changes if c.outcome == "corrected"}
        to_review = {c.entity_id for c in result.changes if c.outcome == "review"}
        assert fixed | to_review == planted and not fixed & to_review, rule.id
        assert len(fixed) > 0.75 * len(planted), rule.id
        if rule.id != "orphaned_appointment":  # only orphans can lack a safe fix in the seed
            assert not to_review, rule.id

        table = "appointments" if rule.entity_type == "appointment" else "calls"
        linked_calls = {
            c.after["call_id"]
            for c in result.changes
            if c.outcome == "corrected" and rule.id == "orphaned_appointment"
        }
        may_change = {(table, i) for i in fixed} | {("calls", i) for i in linked_calls}
        cells = changed_cells(before, after)
        assert {(t, i) for t, i, _ in cells} == may_change, rule.id
        allowed = ALLOWED_COLUMNS[rule.id] | {(t, "updated_at") for t in TABLES}
        assert {(t, column) for t, _, column in cells} <= allowed, rule.id

        # One audit row per corrected row; the triggers add none, except the call-side row of
        # the link an orphan's correction makes (a different change, on the call).
        new_audits = audit_rows(url)[audits_before:]
        ours = sorted(e for t, e, s in new_audits if s == "correction" and t == rule.id)
        assert ours == sorted(fixed), rule.id
        theirs = [(t, e) for t, e, s in new_audits if s == "trigger"]
        if rule.id == "orphaned_appointment":
            assert sorted(theirs) == sorted(("appointment_linked", c) for c in linked_calls)
        else:
            assert theirs == [], rule.id
        sample = next(c for c in result.changes if c.outcome == "corrected")
        assert sample.before != sample.after

    # Everything corrected is no longer found; the orphans without a safe fix are queued.
    rerun = detection.detect(url, full=True)
    queued = query(url, "SELECT appointment_id FROM manual_review_queue")
    for rule in corrections.correctable_rules():
        expected = len(queued) if rule.id == "orphaned_appointment" else 0
        assert rerun.counts[rule.id] == expected, rule.id
    ((open_corrected,),) = query(
        url,
        "SELECT count(*) FROM data_consistency_alerts WHERE resolved_at IS NULL"
        " AND alert_type = ANY(%s)",
        ([r.id for r in corrections.correctable_rules()],),
    )
    assert open_corrected == len(queued)


def test_a_second_run_changes_nothing(seeded) -> None:
    url, _ = seeded
    run_id = detect(url)
    for rule in corrections.correctable_rules():
        corrections.correct(url, run_id, rule.id, max_rows=10_000)
    tables = (*TABLES, "data_consistency_alerts", "manual_review_queue")
    before = snapshot(url, tables)
    for rule in corrections.correctable_rules():
        again = corrections.correct(url, run_id, rule.id, max_rows=10_000)
        assert again.corrected == 0 and again.queued == 0
    assert snapshot(url, tables) == before


def test_dry_run_writes_nothing(seeded) -> None:
    url, truth = seeded
    run_id = detect(url)
    tables = (*TABLES, "data_consistency_alerts", "manual_review_queue", "manual_review_history")
    before = snapshot(url, tables)
    sequences_before = query(url, "SELECT last_value FROM data_consistency_alerts_id_seq")
    for rule in corrections.correctable_rules():
        result = corrections.correct(url, run_id, rule.id, max_rows=10_000, dry_run=True)
        planted = {t.entity_id for t in truth if t.rule == rule.id}
        would = {c.entity_id for c in result.changes if c.outcome in ("would_correct", "review")}
        assert would == planted and result.corrected > 0
        assert result.queued == 0
    blocked = corrections.correct(url, run_id, "missing_direction", max_rows=1, dry_run=True)
    assert blocked.blocked
    assert snapshot(url, tables) == before
    assert query(url, "SELECT last_value FROM data_consistency_alerts_id_seq") == sequences_before


@pytest.fixture
def small(migrated_db: str) -> str:
    """Two companies and a handful of calls written past the triggers (as an import would)."""
    plant(migrated_db, "INSERT INTO companies (id, name) VALUES (1, 'one'), (2, 'two')")
    plant(
        migrated_db,
        "INSERT INTO calls (id, company_id, retell_call_id, direction) VALUES"
        " (1, 1, 'r1', NULL), (2, 1, 'r2', ''), (3, 1, 'r3', NULL), (4, 2, 'r4', 'inbound')",
    )
    return migrated_db


def test_a_writer_between_detection_and_correction_wins(small) -> None:
    run_id = detect(small)
    # The app labels call 1 itself after detection (triggers on, as the app writes).
    query(small, "UPDATE calls SET direction = 'outbound', updated_at = now() WHERE id = 1")
    result = corrections.correct(small, run_id, "missing_direction", max_rows=10)
    assert {c.entity_id: c.outcome for c in result.changes} == {
        1: "skipped",
        2: "corrected",
        3: "corrected",
    }
    assert query(small, "SELECT id, direction FROM calls ORDER BY id") == [
        (1, "outbound"),
        (2, "inbound"),
        (3, "inbound"),
        (4, "inbound"),
    ]
    assert [e for _, e, _ in audit_rows(small)] == [2, 3]


def test_a_row_locked_by_another_transaction_is_skipped_not_waited_on(small, monkeypatch) -> None:
    run_id = detect(small)
    # Waiting on the lock would fail the test after 5 s instead of passing late.
    monkeypatch.setenv("PGOPTIONS", "-c lock_timeout=5000")
    with psycopg.connect(small) as app:
        app.execute("SELECT * FROM calls WHERE id = 2 FOR UPDATE")
        started = time.monotonic()
        result = corrections.correct(small, run_id, "missing_direction", max_rows=10)
        assert time.monotonic() - started < 5
        assert {c.entity_id: c.outcome for c in result.changes} == {
            1: "corrected",
            2: "skipped",
            3: "corrected",
        }
    # The next run, the lock released, completes it.
    again = corrections.correct(small, run_id, "missing_direction", max_rows=10)
    assert [c.entity_id for c in again.changes if c.outcome == "corrected"] == [2]
    assert query(small, "SELECT count(*) FROM calls WHERE direction = 'inbound'") == [(4,)]


def test_blast_radius_corrects_nothing_and_raises_one_critical_alert(small) -> None:
    run_id = detect(small)
    before = snapshot(small)
    settings = replace(Settings.from_env(small), max_corrections=2)
    for _ in range(2):
        with pytest.raises(corrections.CorrectionBlocked, match="BOOKING_GUARD_MAX_CORRECTIONS"):
            corrections.step_correct(settings, run_id, "missing_direction")
    assert snapshot(small) == before
    blocked = (
        "SELECT severity, resolved_at IS NULL FROM data_consistency_alerts"
        " WHERE alert_type = 'correction_blocked'"
    )
    assert query(small, blocked) == [("critical", True)]

    summary = corrections.correct(small, run_id, "missing_direction", max_rows=3)
    assert summary.corrected == 3
    assert query(small, blocked) == [("critical", False)]  # within the limit again: resolved


def test_corrections_never_cross_companies(small) -> None:
    # Company 2's call 4 is named by a company-1 orphan; company 2's booked call has only a
    # company-1 appointment.
    plant(
        small,
        "INSERT INTO calls (id, company_id, retell_call_id, direction, session_outcome,"
        " appointment_made) VALUES (5, 2, 'r5', 'inbound', 'appointment_booked', false)",
    )
    plant(
        small,
        "INSERT INTO appointments (id, company_id, call_id, source, calcom_v2_booking_id,"
        " metadata) VALUES (10, 1, NULL, 'retell_webhook', 'bk10', '{\"call_id\": 4}'),"
        " (11, 1, 5, 'retell_webhook', 'bk11', NULL)",
    )
    run_id = detect(small)
    orphan = corrections.correct(small, run_id, "orphaned_appointment", max_rows=10)
    flag = corrections.correct(small, run_id, "session_outcome_mismatch", max_rows=10)
    assert [(c.entity_id, c.outcome) for c in orphan.changes] == [(10, "review")]
    assert [(c.entity_id, c.outcome) for c in flag.changes] == [(5, "review")]
    assert query(small, "SELECT call_id FROM appointments WHERE id = 10") == [(None,)]
    assert query(small, "SELECT appointment_made FROM calls WHERE id = 5") == [(False,)]
    assert query(small, "SELECT reason, context->>'why' FROM manual_review_queue ORDER BY id") == [
        ("orphaned_appointment", "no live call of its company identifies it"),
        ("session_outcome_mismatch", "no live appointment of this call: possible phantom booking"),
    ]


def test_an_orphan_is_linked_and_the_trigger_syncs_its_call_without_a_second_audit(small) -> None:
    plant(
        small,
        "INSERT INTO appointments (id, company_id, call_id, source, calcom_v2_booking_id,"
        " metadata) VALUES (20, 1, NULL, 'retell_webhook', 'bk20', '{\"retell_call_id\": \"r1\"}')",
    )
    run_id = detect(small)
    result = corrections.correct(small, run_id, "orphaned_appointment", max_rows=10)
    assert [(c.entity_id, c.outcome, c.after) for c in result.changes] == [
        (20, "corrected", {"call_id": 1})
    ]
    assert query(
        small,
        "SELECT appointment_made, appointment_id, appointment_link_status, session_outcome"
        " FROM calls WHERE id = 1",
    ) == [(True, 20, "linked", "appointment_booked")]
    assert [(t, e, s) for t, e, s in audit_rows(small)] == [
        ("orphaned_appointment", 20, "correction"),
        ("appointment_linked", 1, "trigger"),
    ]


def test_a_batch_cut_by_a_dropped_connection_leaves_nothing_and_the_next_run_completes(
    small,
) -> None:
    run_id = detect(small)
    with psycopg.connect(small) as holder:
        # Another transaction holds call 3's detection alert: the batch, having written its
        # calls, waits there — and its connection is then dropped.
        holder.execute(
            "SELECT 1 FROM data_consistency_alerts WHERE fingerprint = 'missing_direction:call:3'"
            " FOR UPDATE"
        )
        outcome: list[BaseException] = []

        def run() -> None:
            try:
                corrections.correct(small, run_id, "missing_direction", max_rows=10)
            except BaseException as exc:
                outcome.append(exc)

        worker = threading.Thread(target=run)
        worker.start()
        with psycopg.connect(small, autocommit=True) as admin:
            pid = None
            for _ in range(100):
                row = admin.execute(
                    "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
                    " AND wait_event_type = 'Lock' AND query LIKE '%%WITH batch%%'"
                ).fetchone()
                if row:
                    pid = row[0]
                    break
                time.sleep(0.05)
            assert pid is not None, "the batch never reached the held alert"
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        worker.join(10)
        assert outcome and isinstance(outcome[0], psycopg.OperationalError)
    assert query(small, "SELECT count(*) FROM calls WHERE direction = 'inbound'") == [(1,)]
    assert audit_rows(small) == []
    again = corrections.correct(small, run_id, "missing_direction", max_rows=10)
    assert again.corrected == 3
    assert query(small, "SELECT count(*) FROM calls WHERE direction = 'inbound'") == [(4,)]


def test_unknown_or_uncorrectable_rule_is_a_clear_error(small) -> None:
    with pytest.raises(BookingGuardError, match="not an auto-correctable rule"):
        corrections.correct(small, 1, "missing_appointment", max_rows=10)
