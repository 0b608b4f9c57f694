"""The guarded booking path over real HTTP, PostgreSQL and Redis: each fault of the Cal.com
stand-in, the breaker opening and recovering, and 20 concurrent bookings."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import psycopg
import pytest

from booking_circuit_breaker import CircuitBreaker
from booking_guard.booking import (
    LOCK_NAMESPACE,
    AlreadyBooked,
    BookingInProgress,
    book_appointment,
    calcom_breaker,
    demo_burst,
)
from booking_guard.calcom import Attendee, CalcomClient, Slot, Timeouts
from booking_guard.calcom_standin import CalcomStandIn
from booking_guard.settings import Settings
from booking_guard.validation import CallNotFound
from tests.helpers import RedisServer, cli, query

TIMEOUTS = Timeouts(connect=1.0, read=0.5, write=1.0, pool=1.0, total=1.0)
SLOT = Slot(
    datetime(2026, 12, 1, 9, 0, tzinfo=UTC), 7, Attendee("Test Caller", "t@example.invalid")
)
CALLS = 30


@pytest.fixture
def db(migrated_db: str) -> str:
    query(migrated_db, "INSERT INTO companies (id, name) VALUES (1, 'one')")
    query(
        migrated_db,
        "INSERT INTO calls (id, company_id, retell_call_id, direction)"
        " SELECT g, 1, 'rc_' || g, 'inbound' FROM generate_series(1, %s) g",
        (CALLS,),
    )
    query(migrated_db, "SELECT setval('calls_id_seq', %s)", (CALLS,))
    return migrated_db


@pytest.fixture
def app(db: str, logins: dict[str, str]) -> str:
    """The booking application's login (member of booking_guard_app): the path runs as it."""
    return logins["app"]


@pytest.fixture
def stand_in() -> Iterator[CalcomStandIn]:
    server = CalcomStandIn()
    yield server
    server.close()


@pytest.fixture
def redis_url() -> Iterator[str]:
    server = RedisServer()
    yield server.url
    server.stop()


@pytest.fixture
def breaker(app, redis_url) -> Iterator[CircuitBreaker]:
    made = calcom_breaker(
        Settings(database_url=app, redis_url=redis_url), TIMEOUTS, cooldown_seconds=1.0
    )
    yield made
    made.close()


@pytest.fixture
def client(stand_in) -> Iterator[CalcomClient]:
    with CalcomClient(stand_in.url, "cal_test_key", timeouts=TIMEOUTS) as made:
        yield made


@pytest.fixture
def book(app, client, breaker):
    delays: list[float] = []

    def run(call_id: int, **kwargs):
        kwargs.setdefault("sleep", delays.append)  # the backoff is recorded, not waited
        return book_appointment(call_id, SLOT, calcom=client, breaker=breaker, url=app, **kwargs)

    run.delays = delays
    return run


def queue(db: str) -> list[tuple]:
    return query(
        db,
        "SELECT call_id, reason, priority, context FROM manual_review_queue ORDER BY id",
    )


def appointments(db: str) -> list[tuple]:
    return query(db, "SELECT id, call_id, calcom_v2_booking_id FROM appointments ORDER BY id")


def call_state(db: str, call_id: int) -> tuple:
    return query(
        db,
        "SELECT appointment_made, appointment_id, appointment_link_status, session_outcome,"
        " booking_failed, requires_manual_processing FROM calls WHERE id = %s",
        (call_id,),
    )[0]


def test_a_healthy_booking_is_recorded_linked_and_validated(db, book, stand_in) -> None:
    outcome = book(1)
    assert outcome.booked and outcome.failure is None and outcome.attempts == 1
    assert outcome.validation.success
    ((appointment_id, call_id, uid),) = appointments(db)
    assert (appointment_id, call_id, uid) == (outcome.appointment_id, 1, outcome.calcom_booking_uid)
    assert call_state(db, 1) == (True, appointment_id, "linked", "appointment_booked", False, False)
    (held,) = stand_in.state()["bookings"]
    assert held["uid"] == uid and held["metadata"] == {"booking_guard_call_id": "1"}
    assert queue(db) == []


def test_slow_but_in_time_is_booked(book, stand_in) -> None:
    stand_in.set_faults(latency=0.3)
    outcome = book(1)
    assert outcome.booked and outcome.seconds >= 0.3


def test_5xx_is_retried_with_backoff_then_rolled_back_and_queued(db, book, stand_in) -> None:
    stand_in.set_faults(status=503, times=2)
    assert book(1).booked  # two 503s, the third attempt books
    assert 1.0 <= book.delays[0] <= 1.1 and 2.0 <= book.delays[1] <= 2.2
    stand_in.set_faults(status=503)
    outcome = book(2, max_attempts=2)
    assert not outcome.booked and outcome.failure == "calcom_unavailable"
    assert outcome.attempts == 2 and stand_in.state()["requests"] == 5
    ((call_id, reason, priority, context),) = queue(db)
    assert (call_id, reason, priority) == (2, "calcom_booking_failed", 2)
    assert context["calcom_outcome"] == "failed" and context["status_code"] == 503
    assert call_state(db, 2) == (False, None, "creation_failed", "creation_failed", True, True)


def test_the_rollback_alert_closes_when_a_person_resolves_its_item(
    db, book, stand_in, logins
) -> None:
    stand_in.set_faults(status=503)
    assert not book(4, max_attempts=1).booked
    rollback_alert = (
        "SELECT resolved_at IS NOT NULL FROM data_consistency_alerts"
        " WHERE fingerprint = 'appointment_rollback:call:4'"
    )
    assert query(db, rollback_alert) == [(False,)]
    (item,) = query(db, "SELECT id FROM manual_review_queue WHERE call_id = 4")
    done = cli("review", "resolve", str(item[0]), "--notes", "booked by phone",
               url=logins["corrector"])  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert query(db, rollback_alert) == [(True,)]


def test_a_refusal_is_not_retried_and_does_not_count_against_the_service(
    db, book, stand_in, breaker
) -> None:
    stand_in.set_faults(status=409)
    outcome = book(1)
    assert outcome.failure == "calcom_rejected" and outcome.attempts == 1
    assert queue(db)[0][3]["calcom_outcome"] == "rejected"
    assert breaker.get_statistics("calcom")["failure_count"] == 0


def test_the_breaker_opens_fails_fast_and_recovers(db, book, stand_in, breaker) -> None:
    stand_in.set_faults(status=503)
    for call_id in (1, 2, 3):
        assert book(call_id, max_attempts=1).failure == "calcom_unavailable"
    assert breaker.get_state("calcom") == "open"
    seen = stand_in.state()["requests"]
    fast = book(4, max_attempts=1)
    assert fast.failure == "circuit_open" and stand_in.state()["requests"] == seen
    assert queue(db)[-1][3]["calcom_outcome"] == "not_attempted"

    stand_in.set_faults()
    time.sleep(1.1)  # the cooldown
    assert book(5).booked and book(6).booked
    assert breaker.get_state("calcom") == "closed"
    breaker.flush()
    opened = "SELECT count(*) FROM data_consistency_alerts WHERE alert_type = 'circuit_open'"
    assert query(db, opened)[0][0] == 1


def test_a_hung_service_is_cut_off_by_the_client_and_not_retried(db, book, stand_in) -> None:
    stand_in.set_faults(hang=True)
    outcome = book(1)
    assert outcome.failure == "outcome_unknown" and outcome.attempts == 1
    assert 0.5 <= outcome.seconds < 3
    assert queue(db)[0][3]["calcom_outcome"] == "unknown"


def test_the_total_deadline_caps_every_phase(app, breaker, stand_in) -> None:
    stand_in.set_faults(latency=1.0)
    patient = Timeouts(connect=5.0, read=5.0, write=5.0, pool=5.0, total=0.4)
    with CalcomClient(stand_in.url, timeouts=patient) as client:
        outcome = book_appointment(1, SLOT, calcom=client, breaker=breaker, url=app)
    assert outcome.failure == "outcome_unknown" and outcome.seconds < 0.9


def test_accepted_but_lost_is_queued_as_unknown_not_booked_twice(db, book, stand_in) -> None:
    stand_in.set_faults(lose=True)
    outcome = book(1)
    assert outcome.failure == "outcome_unknown" and outcome.attempts == 1
    assert len(stand_in.state()["bookings"]) == 1  # Cal.com holds it ...
    assert appointments(db) == []  # ... nothing here does: a person must reconcile
    ((_, reason, priority, context),) = queue(db)
    assert (reason, priority, context["calcom_outcome"]) == ("calcom_booking_failed", 2, "unknown")


def test_answered_after_the_read_timeout_counts_as_unknown(db, book, stand_in) -> None:
    stand_in.set_faults(latency=0.8)
    assert book(1).failure == "outcome_unknown"
    time.sleep(0.5)
    assert len(stand_in.state()["bookings"]) == 1 and appointments(db) == []


def test_a_failed_validation_rolls_back_with_priority_1(db, book) -> None:
    query(db, "UPDATE calls SET session_outcome = 'callback_requested' WHERE id = 1")
    outcome = book(1)
    assert outcome.failure == "validation" and not outcome.booked
    assert outcome.validation.reason == "call_flags_inconsistent"
    ((_, reason, priority, context),) = queue(db)
    assert (reason, priority) == ("appointment_validation_failed", 1)
    assert context["appointment_id"] == outcome.appointment_id
    assert context["validation"]["issues"] == [
        "session_outcome is 'callback_requested' instead of 'appointment_booked'"
    ]
    severity = (
        "SELECT severity FROM data_consistency_alerts WHERE alert_type = 'appointment_rollback'"
    )
    assert query(db, severity) == [("critical",)]


def test_a_rolled_back_call_can_be_booked_again(db, book, stand_in) -> None:
    stand_in.set_faults(status=503, times=1)
    assert book(1, max_attempts=1).failure == "calcom_unavailable"
    outcome = book(1)
    assert outcome.booked and outcome.validation.success
    assert call_state(db, 1)[:4] == (True, outcome.appointment_id, "linked", "appointment_booked")


def test_refused_before_anything_is_booked(db, book, stand_in) -> None:
    assert book(1).booked
    with pytest.raises(AlreadyBooked):
        book(1)
    with pytest.raises(CallNotFound):
        book(999)
    with psycopg.connect(db) as other:
        other.execute("SELECT pg_advisory_lock(%s, 2)", (LOCK_NAMESPACE,))
        with pytest.raises(BookingInProgress):
            book(2)
    assert stand_in.state()["requests"] == 1


def test_twenty_concurrent_bookings_keep_their_links(db, book, stand_in) -> None:
    outcomes = {}
    barrier = threading.Barrier(20)

    def run(call_id: int) -> None:
        barrier.wait()
        outcomes[call_id] = book(call_id)

    threads = [threading.Thread(target=run, args=(c,)) for c in range(1, 21)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(outcomes) == list(range(1, 21))
    assert all(o.booked and o.validation.success for o in outcomes.values())
    held = {
        b["uid"]: int(b["metadata"]["booking_guard_call_id"]) for b in stand_in.state()["bookings"]
    }
    rows = appointments(db)
    assert len(rows) == 20 and len(held) == 20
    for appointment_id, call_id, uid in rows:
        assert held[uid] == call_id  # Cal.com's booking and ours name the same call
        assert call_state(db, call_id)[:3] == (True, appointment_id, "linked")
        assert outcomes[call_id].appointment_id == appointment_id
    assert queue(db) == []


@pytest.mark.slow
def test_demo_burst_shows_transitions_rollbacks_and_queued_items(
    db, stand_in, redis_url, monkeypatch
) -> None:
    monkeypatch.setenv("BOOKING_GUARD_REDIS_URL", redis_url)
    summary = demo_burst(db, stand_in.url, 20)
    print("\n".join(summary.lines()))
    assert summary.bookings == 20 and 0 < summary.booked < 20
    assert any("→ open" in t for t in summary.transitions)
    assert any("→ closed" in t for t in summary.transitions)
    assert summary.validations_failed["call_flags_inconsistent"] == 2
    assert summary.rollbacks == 20 - summary.booked
    assert sum(n for _, _, n in summary.queued) == summary.rollbacks
    assert summary.calcom_only >= 2  # the lost ones
    text = "\n".join(summary.lines())
    assert "review queue: appointment_validation_failed (priority 1) 2" in text
