"""The manual review queue against real PostgreSQL: queueing, re-checks, escalation, people."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import timedelta

import psycopg
import pytest

from booking_guard import alerts, corrections, detection, review, rules
from booking_guard.errors import BookingGuardError
from booking_guard.settings import Settings
from tests.helpers import cli, plant, query


def detect(url: str) -> int:
    run = detection.detect(url, full=True)
    alerts.record(url, run)
    detection.finish_run(url, run, succeeded=True)
    return run.run_id


@pytest.fixture
def phantoms(migrated_db: str) -> str:
    """Calls 1 to 6 flagged booked without any appointment (missing_appointment), two companies."""
    plant(migrated_db, "INSERT INTO companies (id, name) VALUES (1, 'one'), (2, 'two')")
    plant(
        migrated_db,
        "INSERT INTO calls (id, company_id, retell_call_id, direction, appointment_made,"
        " session_outcome, appointment_link_status)"
        " SELECT i, 1 + i %% 2, 'r' || i, 'inbound', true, 'appointment_booked', 'linked'"
        " FROM generate_series(1, 6) i",
    )
    detect(migrated_db)
    return migrated_db


def items(url: str) -> list[tuple]:
    return query(url, "SELECT call_id, reason, status FROM manual_review_queue ORDER BY call_id")


def test_findings_are_queued_once_per_entity_and_reason(phantoms) -> None:
    assert review.enqueue(phantoms) == 6
    assert review.enqueue(phantoms) == 0
    detect(phantoms)  # seen again: same alerts
    assert review.enqueue(phantoms) == 0
    assert items(phantoms) == [(i, "missing_appointment", "pending") for i in range(1, 7)]
    assert query(phantoms, "SELECT DISTINCT priority FROM manual_review_queue") == [(5,)]
    # A dismissed finding does not come back while its alert is open.
    review.act(phantoms, 1, "dismiss", notes="test call", by="alice")
    detect(phantoms)
    assert review.enqueue(phantoms) == 0
    # A correction's unsafe finding for an entity already queued for that reason adds nothing.
    with psycopg.connect(phantoms) as conn:
        rule = rules.RULES_BY_ID["missing_appointment"]
        assert review.enqueue_unsafe(conn, rule, [(2, "again")]) == 0
    assert query(
        phantoms, "SELECT count(*) FROM manual_review_history WHERE action = 'queued'"
    ) == [(6,)]


def test_recheck_resolves_what_became_consistent_and_keeps_the_rest(phantoms) -> None:
    review.enqueue(phantoms)
    # The app books call 2 after all; call 3's flags are cleared.
    query(
        phantoms,
        "INSERT INTO appointments (company_id, call_id, source) VALUES (1, 2, 'retell_webhook')",
    )
    query(
        phantoms,
        "UPDATE calls SET appointment_made = false, session_outcome = 'other' WHERE id = 3",
    )
    report = review.recheck(phantoms)
    assert sorted(report.taken) == [1, 2, 3, 4, 5, 6]
    assert report.resolved == {"missing_appointment": 2}
    assert [s for _, _, s in items(phantoms)] == [
        "pending",
        "resolved",
        "resolved",
        "pending",
        "pending",
        "pending",
    ]
    assert query(
        phantoms,
        "SELECT DISTINCT resolution_notes FROM manual_review_queue WHERE status = 'resolved'",
    ) == [("consistent on re-check: the rule no longer finds it",)]
    assert query(
        phantoms,
        "SELECT entity_id FROM data_consistency_alerts WHERE alert_type = 'missing_appointment'"
        " AND resolved_at IS NOT NULL ORDER BY entity_id",
    ) == [(2,), (3,)]
    assert query(
        phantoms,
        "SELECT item_id, actor FROM manual_review_history WHERE action = 'auto_resolved'"
        " ORDER BY item_id",
    ) == [(2, "booking-guard"), (3, "booking-guard")]
    # Re-checked lately: the next run within the interval takes nothing.
    assert review.recheck(phantoms).taken == []


def test_two_concurrent_processors_never_take_the_same_item(migrated_db) -> None:
    plant(migrated_db, "INSERT INTO companies (id, name) VALUES (1, 'one')")
    plant(
        migrated_db,
        "INSERT INTO calls (id, company_id, direction, appointment_made, session_outcome,"
        " appointment_link_status) SELECT i, 1, 'inbound', true, 'appointment_booked', 'linked'"
        " FROM generate_series(1, 1500) i",
    )
    detect(migrated_db)
    review.enqueue(migrated_db)
    barrier = threading.Barrier(2)
    taken: list[list[int]] = []

    def processor() -> None:
        barrier.wait()
        taken.append(review.recheck(migrated_db, batch_rows=20).taken)

    workers = [threading.Thread(target=processor) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
    first, second = taken
    assert first and second  # both worked at once
    assert not set(first) & set(second)
    assert sorted(first + second) == list(range(1, 1501))


def test_an_item_held_by_another_transaction_is_skipped(phantoms, monkeypatch) -> None:
    review.enqueue(phantoms)
    monkeypatch.setenv("PGOPTIONS", "-c lock_timeout=5000")
    with psycopg.connect(phantoms) as other:
        other.execute("SELECT 1 FROM manual_review_queue WHERE id = 4 FOR UPDATE")
        assert sorted(review.recheck(phantoms).taken) == [1, 2, 3, 5, 6]
    assert review.recheck(phantoms).taken == [4]


def test_stale_items_are_escalated_once(phantoms, slack) -> None:
    review.enqueue(phantoms)
    query(
        phantoms,
        "UPDATE manual_review_queue SET created_at = now() - interval '25 hours' WHERE id <= 3",
    )
    settings = Settings.from_env(phantoms)
    assert review.escalate(phantoms, settings) == 3
    assert review.escalate(phantoms, settings) == 0
    assert len(slack.texts) == 1
    text = slack.texts[0]
    assert "3 items pending for more than 24 h" in text and "missing_appointment: 3" in text
    assert query(
        phantoms, "SELECT id FROM manual_review_queue WHERE escalated_at IS NOT NULL ORDER BY id"
    ) == [(1,), (2,), (3,)]
    assert query(
        phantoms, "SELECT count(*) FROM manual_review_history WHERE action = 'escalated'"
    ) == [(3,)]
    # A longer threshold leaves them; a failed send marks nothing and is retried.
    query(phantoms, "UPDATE manual_review_queue SET created_at = now() - interval '50 hours'")
    assert review.escalate(phantoms, replace(settings, review_escalate_hours=72)) == 0
    slack.status = 500
    with pytest.raises(Exception):  # noqa: B017 - the Slack hook raises its own error type
        review.escalate(phantoms, settings)
    slack.status = 200
    assert review.escalate(phantoms, settings) == 3


def test_trigger_conflicts_are_queued_and_resolve_when_the_conflict_is_gone(migrated_db) -> None:
    query(migrated_db, "INSERT INTO companies (id, name) VALUES (1, 'one')")
    # Written by the app with the triggers on: the outcome trigger reports the conflict.
    query(
        migrated_db,
        "INSERT INTO calls (id, company_id, direction, appointment_made, session_outcome)"
        " VALUES (7, 1, 'inbound', true, 'appointment_rescheduled')",
    )
    assert review.enqueue(migrated_db) == 1
    assert items(migrated_db) == [(7, "session_outcome_conflict", "pending")]
    assert review.recheck(migrated_db).resolved == {}
    query(migrated_db, "UPDATE calls SET appointment_made = false WHERE id = 7")
    report = review.recheck(migrated_db, recheck_after=timedelta(0))
    assert report.resolved == {"session_outcome_conflict": 1}
    assert query(
        migrated_db,
        "SELECT resolved_at IS NOT NULL FROM data_consistency_alerts"
        " WHERE alert_type = 'session_outcome_conflict'",
    ) == [(True,)]


def test_people_resolve_dismiss_and_reopen_with_an_append_only_history(phantoms) -> None:
    review.enqueue(phantoms)
    done = review.act(phantoms, 1, "resolve", notes="booked by phone", by="alice")
    assert done["status"] == "resolved" and done["resolution_notes"] == "booked by phone"
    assert [(h["action"], h["actor"], h["notes"]) for h in done["history"]] == [
        ("queued", "booking-guard", None),
        ("resolved", "alice", "booked by phone"),
    ]
    # A problem a person calls fixed closes its alert: if the rules still find it, it returns.
    assert query(
        phantoms,
        "SELECT resolved_at IS NOT NULL FROM data_consistency_alerts WHERE entity_id = 1",
    ) == [(True,)]
    with pytest.raises(BookingGuardError, match="item 1 is resolved"):
        review.act(phantoms, 1, "dismiss", notes="x", by="bob")
    with pytest.raises(BookingGuardError, match="item 2 is pending"):
        review.act(phantoms, 2, "reopen", by="bob")
    with pytest.raises(BookingGuardError, match="item 99 does not exist"):
        review.act(phantoms, 99, "resolve", notes="x", by="bob")
    reopened = review.act(phantoms, 1, "reopen", by="bob")
    assert reopened["status"] == "pending" and reopened["resolved_at"] is None
    assert [h["action"] for h in reopened["history"]] == ["queued", "resolved", "reopened"]
    for statement in (
        "UPDATE manual_review_history SET actor = 'x'",
        "DELETE FROM manual_review_history",
    ):
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
            query(phantoms, statement)


def test_review_cli(phantoms) -> None:
    review.enqueue(phantoms)
    listed = cli("review", "list", "--company", "2", url=phantoms)
    assert listed.returncode == 0 and "3 items" in listed.stdout
    done = cli("review", "dismiss", "2", "--notes", "duplicate call", "--by", "carol", url=phantoms)
    assert done.returncode == 0 and "dismissed" in done.stdout and "carol" in done.stdout
    again = cli("review", "dismiss", "2", "--notes", "x", url=phantoms)
    assert again.returncode == 3 and "item 2 is dismissed" in again.stderr
    unknown = cli("review", "show", "42", url=phantoms)
    assert unknown.returncode == 3 and "item 42 does not exist" in unknown.stderr
    missing_notes = cli("review", "resolve", "3", url=phantoms)
    assert missing_notes.returncode == 3 and "--notes" in missing_notes.stderr


def test_correct_cli_dry_run_then_apply(phantoms) -> None:
    plant(phantoms, "INSERT INTO calls (id, company_id, direction) VALUES (50, 1, NULL)")
    detect(phantoms)
    dry = cli("correct", "--dry-run", "--rule", "missing_direction", url=phantoms)
    assert dry.returncode == 0 and "would correct 1" in dry.stdout
    assert query(phantoms, "SELECT direction FROM calls WHERE id = 50") == [(None,)]
    blocked = cli("correct", "--max-rows", "0", url=phantoms)
    assert blocked.returncode == 3 and "--max-rows" in blocked.stderr
    applied = cli("correct", "--json", url=phantoms)
    assert applied.returncode == 0
    assert query(phantoms, "SELECT direction FROM calls WHERE id = 50") == [("inbound",)]
    assert corrections.latest_run(phantoms) == 2


def test_the_recheck_stamp_keeps_each_item_on_its_page(migrated_db) -> None:
    """The stamp changes no indexed column and 0009 leaves room on the page: a HOT update, not a
    new entry in every index. On full pages every stamped item would move. (Later hours reuse
    the room once the previous stamp's versions are pruned, which waits for every snapshot older
    than them to end: a concurrent autovacuum ANALYZE, say; not a thing to test.)"""
    plant(migrated_db, "INSERT INTO companies (id, name) VALUES (1, 'one')")
    plant(
        migrated_db,
        "INSERT INTO calls (id, company_id, direction, appointment_made, session_outcome,"
        " appointment_link_status) SELECT i, 1, 'inbound', true, 'appointment_booked', 'linked'"
        " FROM generate_series(1, 1000) i",
    )
    detect(migrated_db)
    review.enqueue(migrated_db)
    where = "SELECT id, (ctid::text::point)[0] AS page FROM manual_review_queue ORDER BY id"
    queued = query(migrated_db, where)
    assert len(review.recheck(migrated_db).taken) == 1000
    # The stamp makes each row 8 bytes longer: a few rows of the fullest pages move.
    assert len(set(query(migrated_db, where)) - set(queued)) < 100
