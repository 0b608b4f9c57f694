"""The guarded booking path the booking application calls (layers 1 and 3 together).

``book_appointment``: the circuit breaker around the Cal.com client (retried with §A.3's backoff
while nothing can have been booked) → the local appointment row (the appointments trigger links
the call) → post-booking validation → on any failure, rollback and a review item. One call is
booked by one process at a time (a PostgreSQL advisory lock), and the Cal.com request runs
outside any database transaction.

``demo_burst`` drives a burst of bookings against the Cal.com stand-in with faults switched on,
for the demo: breaker transitions, validations, rollbacks and queued items.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import psycopg

from booking_circuit_breaker import (
    CircuitBreaker,
    CircuitOpenError,
    CircuitTimeoutError,
    StateChange,
    counts_server_errors,
)
from booking_guard.calcom import (
    Attendee,
    CalcomBooking,
    CalcomClient,
    CalcomError,
    Slot,
    Timeouts,
)
from booking_guard.db import connect, first_line, scalar
from booking_guard.errors import BookingGuardError
from booking_guard.resources import load_sql
from booking_guard.settings import Settings
from booking_guard.validation import (
    CALCOM_FAILED,
    Caller,
    CallNotFound,
    Notifier,
    RollbackResult,
    ValidationResult,
    _database_url,
    authorize,
    retry_with_backoff,
    rollback_on_failure,
    validate_appointment_creation,
)

log = logging.getLogger(__name__)

CIRCUIT_KEY = "calcom"
# Advisory-lock namespace of "one booking per call at a time" (the lock's first int4).
LOCK_NAMESPACE = 0x62670001
Failure = Literal[
    "circuit_open", "calcom_unavailable", "calcom_rejected", "outcome_unknown", "validation"
]


class BookingInProgress(BookingGuardError):
    """Another process is booking this call right now."""


class AlreadyBooked(BookingGuardError):
    """The call already has a live appointment."""


@dataclass(frozen=True)
class BookingOutcome:
    """What happened to one booking: booked and valid, or rolled back (and queued) and why."""

    call_id: int
    booked: bool
    seconds: float
    attempts: int
    appointment_id: int | None = None
    calcom_booking_uid: str | None = None
    failure: Failure | None = None
    validation: ValidationResult | None = None
    rollback: RollbackResult | None = None


def calcom_breaker(
    settings: Settings, timeouts: Timeouts | None = None, **overrides: Any
) -> CircuitBreaker:
    """The breaker for Cal.com: outages count (5xx, 429, no answer), refusals (4xx) do not; its
    timeout is a backstop one second past the client's own deadline."""
    from booking_guard.breaker_alerts import circuit_breaker

    deadline = (timeouts or Timeouts()).total
    overrides.setdefault("failure_predicate", counts_server_errors)
    overrides.setdefault("timeout_seconds", deadline + 1)
    return circuit_breaker(settings, **overrides)


def book_appointment(
    call_id: int,
    slot: Slot,
    *,
    calcom: CalcomClient,
    breaker: CircuitBreaker,
    url: str | None = None,
    caller: Caller | None = None,
    circuit_key: str = CIRCUIT_KEY,
    max_attempts: int = 3,
    sleep: Callable[[float], None] = time.sleep,
    notify: Notifier | None = None,
) -> BookingOutcome:
    """Book ``slot`` for ``call_id`` and make sure the call and its appointment agree.

    Raises ``CallNotFound``, ``NotAuthorized``, ``AlreadyBooked`` or ``BookingInProgress``
    before anything is booked; ``RollbackNotificationError`` when a rollback is committed but
    ``notify`` failed. Every other failure is a rolled-back ``BookingOutcome``.
    """
    url = _database_url(url)
    started = time.monotonic()
    with connect(url, autocommit=True) as conn:
        params = {"call_id": call_id, "namespace": LOCK_NAMESPACE}
        row = conn.execute(load_sql("validation/call_for_booking.sql"), params).fetchone()
        if row is None:
            authorize(caller, call_id, None)
            raise CallNotFound(f"call {call_id} not found (or deleted)")
        company_id, _, _, has_appointment, locked = row
        try:
            authorize(caller, call_id, company_id)
            if not locked:
                raise BookingInProgress(f"call {call_id} is being booked by another process")
            if has_appointment:
                raise AlreadyBooked(f"call {call_id} already has an appointment")
            return _book(conn, url, call_id, slot, calcom, breaker, circuit_key,
                         max_attempts, sleep, notify, started)  # fmt: skip
        finally:
            if locked:
                conn.execute(load_sql("validation/release_booking_lock.sql"), params)


def _book(
    conn: psycopg.Connection,
    url: str,
    call_id: int,
    slot: Slot,
    calcom: CalcomClient,
    breaker: CircuitBreaker,
    circuit_key: str,
    max_attempts: int,
    sleep: Callable[[float], None],
    notify: Notifier | None,
    started: float,
) -> BookingOutcome:
    attempts = 0

    def attempt() -> CalcomBooking:
        nonlocal attempts
        attempts += 1
        metadata = {"booking_guard_call_id": str(call_id)}
        return breaker.execute(circuit_key, calcom.create_booking, slot, metadata)

    try:
        booking = retry_with_backoff(attempt, max_attempts, retryable=_retryable, sleep=sleep)
    except (CalcomError, CircuitOpenError, CircuitTimeoutError) as exc:
        failure, context = _calcom_failure(exc)
        rollback = rollback_on_failure(
            call_id, CALCOM_FAILED, url=url, context=context | {"attempts": attempts}, notify=notify
        )
        return BookingOutcome(call_id, False, time.monotonic() - started, attempts,
                              failure=failure, rollback=rollback)  # fmt: skip

    appointment_id = _record_appointment(conn, call_id, booking)
    validation = validate_appointment_creation(call_id, appointment_id, booking.uid, conn=conn)
    if validation.success:
        return BookingOutcome(call_id, True, time.monotonic() - started, attempts,
                              appointment_id, booking.uid, validation=validation)  # fmt: skip
    rollback = rollback_on_failure(
        call_id,
        validation.reason or "appointment_validation_failed",
        url=url,
        context={
            "appointment_id": appointment_id,
            "calcom_booking_uid": booking.uid,
            "calcom_outcome": "booked",
            "validation": validation.details,
        },
        notify=notify,
    )
    return BookingOutcome(call_id, False, time.monotonic() - started, attempts, appointment_id,
                          booking.uid, "validation", validation, rollback)  # fmt: skip


def _record_appointment(
    conn: psycopg.Connection, call_id: int, booking: CalcomBooking
) -> int | None:
    """The local row of a confirmed booking; None when it could not be written (the validation
    then fails and the booking, known only to Cal.com, is queued for people)."""
    try:
        with conn.transaction():
            row = conn.execute(
                load_sql("validation/record_appointment.sql"),
                {
                    "call_id": call_id,
                    "booking_uid": booking.uid,
                    "starts_at": booking.start,
                    "ends_at": booking.end,
                },
            ).fetchone()
    except psycopg.Error as exc:
        log.error("call %s: appointment not recorded: %s", call_id, first_line(exc))
        return None
    return row[0] if row else None


def _retryable(exc: Exception) -> bool:
    return isinstance(exc, CalcomError) and exc.retryable


def _calcom_failure(exc: Exception) -> tuple[Failure, dict[str, object]]:
    """The failure code and what the review item should know: above all, whether Cal.com may
    hold a booking that nothing here records."""
    error = str(exc)
    if isinstance(exc, CircuitOpenError):
        return "circuit_open", {"calcom_outcome": "not_attempted", "error": error}
    if isinstance(exc, CircuitTimeoutError) or getattr(exc, "outcome_unknown", False):
        return "outcome_unknown", {"calcom_outcome": "unknown", "error": error}
    status = getattr(exc, "status_code", None)
    if status is not None and not counts_server_errors(exc):
        return "calcom_rejected", {"calcom_outcome": "rejected", "status_code": status}
    return "calcom_unavailable", {
        "calcom_outcome": "failed",
        "status_code": status,
        "error": error,
    }


# -- the demo burst ------------------------------------------------------------------------

# (phase, faults on the stand-in, share of the burst). The calls of CONFLICTING_PHASE already
# carry another explicit outcome, which the triggers keep (§G-20): their validation fails.
CONFLICTING_PHASE = "call already had another outcome"
BURST_PHASES: list[tuple[str, dict[str, object], float]] = [
    ("healthy", {}, 0.25),
    ("slow answers (0.3 s)", {"latency": 0.3}, 0.10),
    ("Cal.com answers 503", {"status": 503}, 0.20),
    ("recovered after the cooldown", {}, 0.20),
    (CONFLICTING_PHASE, {}, 0.10),
    ("accepted but lost", {"lose": True, "times": 2}, 0.10),
    ("hung (read timeout)", {"hang": True, "times": 1}, 0.05),
]
DEMO_TIMEOUTS = Timeouts(connect=1.0, read=1.0, write=1.0, pool=1.0, total=2.0)
DEMO_COOLDOWN_SECONDS = 2.0


@dataclass
class BurstSummary:
    """What a burst did, for the demo's summary."""

    bookings: int = 0
    booked: int = 0
    failures: Counter[str] = field(default_factory=Counter)
    validations_passed: int = 0
    validations_failed: Counter[str] = field(default_factory=Counter)
    rollbacks: int = 0
    transitions: list[str] = field(default_factory=list)
    queued: list[tuple[str, int, int]] = field(default_factory=list)  # reason, priority, items
    calcom_bookings: int = 0
    calcom_only: int = 0  # held by Cal.com, not recorded here: what the review items are for
    seconds: float = 0.0
    phases: list[tuple[str, int, int]] = field(default_factory=list)  # phase, bookings, booked

    def lines(self) -> list[str]:
        out = [
            f"booking burst: {self.bookings} bookings in {self.seconds:.1f} s,"
            f" {self.booked} booked and valid, {self.rollbacks} rolled back",
        ]
        out += [f"  {name:<34} {n:>3} bookings, {ok:>3} booked" for name, n, ok in self.phases]
        out.append("breaker: " + (", ".join(self.transitions) or "no transitions"))
        out.append(
            f"validations: {self.validations_passed} passed, "
            f"{sum(self.validations_failed.values())} failed"
            + "".join(f"; {reason} {n}" for reason, n in sorted(self.validations_failed.items()))
        )
        out.append(
            "rollbacks by cause: "
            + (", ".join(f"{k} {v}" for k, v in sorted(self.failures.items())) or "none")
        )
        out.append(
            "review queue: "
            + (", ".join(f"{r} (priority {p}) {n}" for r, p, n in self.queued) or "nothing queued")
        )
        out.append(
            f"Cal.com stand-in holds {self.calcom_bookings} bookings; {self.calcom_only} of them"
            " are not recorded locally (accepted but lost, or answered too late) and are queued"
        )
        return out


def demo_burst(url: str, standin_url: str, n: int = 40) -> BurstSummary:
    """Book ``n`` new calls of the demo database against the stand-in at ``standin_url``
    through the phases of ``BURST_PHASES``, with a short breaker cooldown so it recovers."""
    from booking_guard.calcom_standin import set_faults, standin_state

    if n < len(BURST_PHASES):
        raise BookingGuardError(f"a burst needs at least {len(BURST_PHASES)} bookings")
    settings = Settings.from_env(url)
    summary = BurstSummary()
    changes: list[StateChange] = []
    breaker = calcom_breaker(settings, DEMO_TIMEOUTS, cooldown_seconds=DEMO_COOLDOWN_SECONDS)
    breaker.add_listener(changes.append)
    breaker.reset(CIRCUIT_KEY)
    sizes = _phase_sizes(n)
    conflicting = [name for name, _, _ in BURST_PHASES].index(CONFLICTING_PHASE)
    first = sum(sizes[:conflicting]) + 1
    with connect(url) as conn:
        rows = conn.execute(
            load_sql("validation/burst_calls.sql"),
            {
                "calls": n,
                "conflicting_from": first,
                "conflicting_to": first + sizes[conflicting] - 1,
            },
        ).fetchall()
    calls = sorted(r[0] for r in rows)
    started = time.monotonic()
    slot_start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=1)
    attendee = Attendee("Demo Caller", "caller@example.invalid")
    queue = iter(calls)
    try:
        with CalcomClient(standin_url, timeouts=DEMO_TIMEOUTS) as calcom:
            for (phase, faults, _), size in zip(BURST_PHASES, sizes, strict=True):
                set_faults(standin_url, **faults)
                if phase.startswith("recovered"):
                    time.sleep(DEMO_COOLDOWN_SECONDS + 0.2)
                booked = 0
                for i in range(size):
                    slot = Slot(slot_start + timedelta(minutes=30 * i), 1, attendee)
                    outcome = book_appointment(
                        next(queue), slot, calcom=calcom, breaker=breaker, url=url,
                        max_attempts=2,
                    )  # fmt: skip
                    booked += outcome.booked
                    _count(summary, outcome)
                summary.phases.append((phase, size, booked))
        set_faults(standin_url)
    finally:
        breaker.flush()
        breaker.close()
    summary.seconds = time.monotonic() - started
    summary.transitions = [
        f"{c.previous} → {c.state} ({c.reason})" for c in changes if c.previous != c.state
    ]
    with connect(url) as conn:
        summary.queued = conn.execute(
            load_sql("validation/burst_queue.sql"), {"calls": calls}
        ).fetchall()
        held = [b["uid"] for b in standin_state(standin_url)["bookings"]]
        summary.calcom_bookings = len(held)
        summary.calcom_only = scalar(
            conn, load_sql("validation/unrecorded_bookings.sql"), {"uids": held}
        )
    return summary


def _phase_sizes(n: int) -> list[int]:
    sizes = [max(1, round(n * share)) for _, _, share in BURST_PHASES]
    sizes[0] += n - sum(sizes)
    return sizes


def _count(summary: BurstSummary, outcome: BookingOutcome) -> None:
    summary.bookings += 1
    summary.booked += outcome.booked
    if outcome.validation is not None:
        if outcome.validation.success:
            summary.validations_passed += 1
        else:
            summary.validations_failed[outcome.validation.reason or "?"] += 1
    if outcome.rollback is not None:
        summary.rollbacks += outcome.rollback.applied
        summary.failures[outcome.failure or "?"] += 1
