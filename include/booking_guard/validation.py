"""Post-booking validation (layer 1): right after a booking, do the call and its appointment agree?

What the booking application imports, without Airflow, Great Expectations or pandas:

- ``validate_appointment_creation`` — the checks of BEHAVIOUR §A.1 on rows read fresh from the
  database (one round trip), with the recency check done right (§G-3) and a tenant check.
- ``rollback_on_failure`` — the call's flags, the rollback alert and a manual-review item in one
  transaction (§A.2, §B.5, §F.2-1); a notification only after the commit, whose failure is its own
  error and never undoes the rollback.
- ``retry_with_backoff`` — §A.3, giving way to an open circuit breaker.
- ``authorize`` — the guard for callers from outside the process (§F.1): a service token compared
  in constant time, or acting for the call's company.

Functions take ``url`` (or ``conn`` where reading is all they do); without one they use
``BOOKING_GUARD_DATABASE_URL``.
"""

from __future__ import annotations

import hmac
import json
import logging
import os
import random
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

import psycopg

from booking_circuit_breaker import CircuitOpenError
from booking_guard import review
from booking_guard.db import connect
from booking_guard.errors import BookingGuardError
from booking_guard.resources import load_sql
from booking_guard.settings import DEFAULT_DATABASE_URL, Settings, int_setting
from booking_guard.severity import Severity

log = logging.getLogger(__name__)
T = TypeVar("T")

MAX_AGE_SECONDS = 300
MAX_AGE_VARIABLE = "BOOKING_GUARD_VALIDATION_MAX_AGE_SECONDS"
SERVICE_TOKEN_VARIABLE = "BOOKING_GUARD_SERVICE_TOKEN"  # noqa: S105 - a variable name

# §A.1 reasons, in check order, with the sentence every failure carries. A tenant check the
# original lacked runs as soon as the appointment is loaded: another company's appointment is
# rejected before any of its fields (its call, its booking id) can reach the caller.
DESCRIPTIONS = {
    "appointment_not_found": "The appointment given does not exist or was deleted.",
    "appointment_not_linked": "No live appointment is linked to the call.",
    "appointment_wrong_company": "The appointment belongs to another company than the call.",
    "appointment_wrong_call": "The appointment is linked to another call.",
    "calcom_booking_id_mismatch": "The Cal.com booking id differs from the one given.",
    "appointment_too_old": "The appointment was not created by this booking (too old).",
    "call_flags_inconsistent": "The call's flags do not say that an appointment was booked.",
}
VALIDATION_REASONS = frozenset(DESCRIPTIONS)

# A failed validation is queued as one reason (§B.5's appointment_validation_failed, the detail
# stays in the call's booking_failure_reason); other reasons are queued as they are.
VALIDATION_FAILED = "appointment_validation_failed"
CALCOM_FAILED = "calcom_booking_failed"
# §G-4 fixed: the rollback alert's severity follows from what failed, by one mapping. A booking
# that failed its validation may exist at Cal.com without a local record the customer relies on.
ROLLBACK_SEVERITY = {VALIDATION_FAILED: Severity.CRITICAL}
DEFAULT_ROLLBACK_SEVERITY = Severity.WARNING
ROLLBACK_ALERT = "appointment_rollback"

_REASON = re.compile(r"[a-z][a-z0-9_]{0,63}")
# §F.1: what a rollback's context may carry into the review queue (ids, codes, counts).
CONTEXT_KEYS = frozenset(
    {
        "call_id",
        "retell_call_id",
        "appointment_id",
        "reason",
        "action_taken",
        "entity_type",
        "severity",
        "calcom_booking_uid",
        "calcom_outcome",
        "status_code",
        "attempts",
        "error",
        "validation",
    }
)
_CONTEXT_STRING_CHARS = 500
_CONTEXT_LIST_ITEMS = 20
_CONTEXT_BYTES = 10_000
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class CallNotFound(BookingGuardError):
    """The call does not exist or was deleted."""


class NotAuthorized(BookingGuardError):
    """The caller may not act on this call."""


class RollbackNotificationError(BookingGuardError):
    """The rollback is committed; only the notification after it failed (``rollback`` says
    what was committed, ``__cause__`` why the notification failed)."""

    def __init__(self, rollback: RollbackResult, cause: BaseException) -> None:
        self.rollback = rollback
        super().__init__(
            f"call {rollback.call_id} rolled back ({rollback.reason}), but its notification"
            f" failed: {type(cause).__name__}"
        )


# -- the authorization guard -------------------------------------------------------------


@dataclass(frozen=True)
class Caller:
    """Who asks, for callers from outside the booking application's process (an HTTP endpoint,
    a queue consumer): a service presents ``service_token``; a user acts for ``company_id``."""

    service_token: str | None = field(default=None, repr=False)
    company_id: int | None = None


def authorize(caller: Caller | None, call_id: int, call_company_id: int | None) -> None:
    """Raise ``NotAuthorized`` unless ``caller`` may act on the call.

    ``None`` is the booking application itself, trusted in its own process (its database
    credentials are the authority). A service token is compared in constant time with
    ``BOOKING_GUARD_SERVICE_TOKEN`` (unset: tokens are refused). A company caller must be the
    call's company; a call it cannot see (missing or another tenant's) is refused the same way,
    so the answer does not tell whether the call exists.
    """
    if caller is None:
        return
    if caller.service_token is not None:
        expected = os.environ.get(SERVICE_TOKEN_VARIABLE, "")
        if expected and hmac.compare_digest(caller.service_token.encode(), expected.encode()):
            return
    elif caller.company_id is not None and caller.company_id == call_company_id:
        return
    raise NotAuthorized(f"not authorized for call {call_id}")


def _database_url(url: str | None) -> str:
    return url or os.environ.get("BOOKING_GUARD_DATABASE_URL") or DEFAULT_DATABASE_URL


def max_age_seconds() -> int:
    """BOOKING_GUARD_VALIDATION_MAX_AGE_SECONDS (default 300): how old a new appointment may be."""
    return int_setting(os.environ, MAX_AGE_VARIABLE, MAX_AGE_SECONDS, bounds=(1, 86_400))


# -- validation --------------------------------------------------------------------------


@dataclass(frozen=True)
class ValidationResult:
    """§A.1: ``reason`` None on success; ``details`` ids and codes only, never free text."""

    success: bool
    reason: str | None
    details: dict[str, Any]


def validate_appointment_creation(
    call_id: int,
    appointment_id: int | None = None,
    calcom_booking_id: str | None = None,
    *,
    conn: psycopg.Connection | None = None,
    url: str | None = None,
    caller: Caller | None = None,
    max_age: int | None = None,
) -> ValidationResult:
    """Check a booking just made for ``call_id`` (§A.1: the first failing check returns).

    Rows are read fresh from the database, so a stale object in the caller cannot pass; pass
    ``conn`` to reuse a connection (it should not be inside a long transaction). Raises
    ``CallNotFound`` for a missing or deleted call and ``NotAuthorized`` per ``authorize``.
    """
    limit = max_age if max_age is not None else max_age_seconds()
    params = {"call_id": call_id, "appointment_id": appointment_id or None}
    if conn is None:
        with connect(_database_url(url), autocommit=True) as own:
            row = own.execute(load_sql("validation/snapshot.sql"), params).fetchone()
    else:
        row = conn.execute(load_sql("validation/snapshot.sql"), params).fetchone()
    if row is None:
        authorize(caller, call_id, None)
        raise CallNotFound(f"call {call_id} not found (or deleted)")
    (_, company_id, retell_call_id, made, outcome, link_status, a_id, a_call_id, a_company_id,
     a_calcom_id, a_created_at, age, validated_at) = row  # fmt: skip
    authorize(caller, call_id, company_id)
    reason, details = _first_failure(
        call_id,
        appointment_id or None,
        calcom_booking_id or None,
        limit,
        retell_call_id=retell_call_id,
        flags=(made, outcome, link_status),
        appointment=(a_id, a_call_id, a_company_id, a_calcom_id, a_created_at, age),
        company_id=company_id,
    )
    stamp = validated_at.isoformat()
    if reason is None:
        return ValidationResult(True, None, {"appointment_id": a_id, "validated_at": stamp})
    log.error("post-booking validation failed: call %s: %s", call_id, reason)
    details |= {"description": DESCRIPTIONS[reason], "validated_at": stamp}
    return ValidationResult(False, reason, details)


def _first_failure(
    call_id: int,
    appointment_id: int | None,
    calcom_booking_id: str | None,
    limit: int,
    *,
    retell_call_id: str | None,
    flags: tuple[bool, str | None, str | None],
    appointment: tuple[Any, ...],
    company_id: int,
) -> tuple[str | None, dict[str, Any]]:
    a_id, a_call_id, a_company_id, a_calcom_id, a_created_at, age = appointment
    if a_id is None and appointment_id is not None:
        return "appointment_not_found", {"expected_id": appointment_id, "call_id": call_id}
    if a_id is None:
        return "appointment_not_linked", {"call_id": call_id, "retell_call_id": retell_call_id}
    if a_company_id != company_id:
        return "appointment_wrong_company", {"appointment_id": a_id, "call_id": call_id}
    if a_call_id != call_id:
        return "appointment_wrong_call", {
            "appointment_id": a_id,
            "appointment_call_id": a_call_id,
            "expected_call_id": call_id,
        }
    if calcom_booking_id is not None and str(calcom_booking_id) != a_calcom_id:
        return "calcom_booking_id_mismatch", {
            "appointment_id": a_id,
            "appointment_calcom_id": a_calcom_id,
            "expected_calcom_id": str(calcom_booking_id),
        }
    if age > limit:
        return "appointment_too_old", {
            "appointment_id": a_id,
            "created_at": a_created_at.isoformat(),
            "age_seconds": age,
            "max_age_seconds": limit,
        }
    made, outcome, link_status = flags
    issues = []
    if not made:
        issues.append("appointment_made is false")
    if outcome != "appointment_booked":
        issues.append(f"session_outcome is '{outcome or ''}' instead of 'appointment_booked'")
    if link_status != "linked":
        issues.append(f"appointment_link_status is '{link_status or ''}' instead of 'linked'")
    if issues:
        return "call_flags_inconsistent", {
            "call_id": call_id,
            "issues": issues,
            "appointment_made": made,
            "session_outcome": outcome,
            "appointment_link_status": link_status,
        }
    return None, {}


# -- rollback ----------------------------------------------------------------------------


@dataclass(frozen=True)
class RollbackResult:
    """What a rollback committed; ``applied`` False when the call was already rolled back."""

    call_id: int
    reason: str
    review_reason: str
    applied: bool
    company_id: int | None = None
    severity: Severity | None = None
    alert_id: int | None = None
    review_item_id: int | None = None
    review_item_created: bool = False


Notifier = Callable[[RollbackResult], None]


def review_reason(reason: str) -> str:
    """The review queue's reason for a rollback reason: every failed check is one reason."""
    return VALIDATION_FAILED if reason in VALIDATION_REASONS else reason


def rollback_on_failure(
    call_id: int,
    reason: str,
    *,
    context: Mapping[str, object] | None = None,
    url: str | None = None,
    caller: Caller | None = None,
    notify: Notifier | None = None,
) -> RollbackResult:
    """Roll a failed booking back: flags, alert and review item in one transaction (§A.2, §B.5).

    ``reason`` is a code (a validation reason, ``calcom_booking_failed`` …); ``context`` is
    filtered to ids and codes (§F.1). A call already rolled back is left as it is (no alert, no
    item, no notification). ``notify`` runs after the commit — without it the rollback alert
    waits for the monitor's notify step; if it raises, ``RollbackNotificationError`` carries
    the committed result.
    """
    if not _REASON.fullmatch(reason):
        raise BookingGuardError(f"a rollback reason is a code like {CALCOM_FAILED}, got {reason!r}")
    queued_as = review_reason(reason)
    severity = ROLLBACK_SEVERITY.get(queued_as, DEFAULT_ROLLBACK_SEVERITY)
    with connect(_database_url(url)) as conn, conn.transaction():
        row = conn.execute(load_sql("validation/lock_call.sql"), {"call_id": call_id}).fetchone()
        if row is None:
            authorize(caller, call_id, None)
            raise CallNotFound(f"call {call_id} not found (or deleted)")
        company_id, retell_call_id, appointment_id, rolled_back = row
        authorize(caller, call_id, company_id)
        if rolled_back:
            log.info("call %s is already rolled back; nothing to do", call_id)
            return RollbackResult(call_id, reason, queued_as, applied=False, company_id=company_id)
        metadata = {
            "retell_call_id": retell_call_id,
            "rollback_reason": reason,
            "review_reason": queued_as,
            "appointment_id": appointment_id,
        }
        alert_id = conn.execute(
            load_sql("validation/rollback.sql"),
            {
                "call_id": call_id,
                "reason": reason,
                "severity": str(severity),
                "metadata": json.dumps(metadata),
            },
        ).fetchone()
        item_id, created = enqueue_review(
            conn,
            alert_id=alert_id[0] if alert_id else None,
            call_id=call_id,
            company_id=company_id,
            appointment_id=appointment_id,
            retell_call_id=retell_call_id,
            reason=queued_as,
            context={**clean_context(context or {}), "rollback_reason": reason},
        )
    result = RollbackResult(
        call_id,
        reason,
        queued_as,
        applied=True,
        company_id=company_id,
        severity=severity,
        alert_id=alert_id[0] if alert_id else None,
        review_item_id=item_id,
        review_item_created=created,
    )
    log.warning("call %s rolled back (%s), review item %s", call_id, reason, item_id)
    if notify is not None:
        try:
            notify(result)
        except Exception as exc:
            raise RollbackNotificationError(result, exc) from exc
    return result


def enqueue_review(
    conn: psycopg.Connection,
    *,
    call_id: int,
    company_id: int | None,
    appointment_id: int | None,
    retell_call_id: str | None,
    reason: str,
    context: Mapping[str, object],
    alert_id: int | None = None,
) -> tuple[int, bool]:
    """Queue the call for people (in the caller's transaction); one open item per (reason, call).

    ``alert_id`` links the item to its alert (a rollback's), which resolving the item resolves.
    Returns the item's id and whether it is new.
    """
    row = conn.execute(
        load_sql("validation/enqueue_review.sql"),
        {
            "call_id": call_id,
            "company_id": company_id,
            "appointment_id": appointment_id,
            "retell_call_id": retell_call_id,
            "reason": reason,
            "priority": review.priority(reason),
            "actor": review.SYSTEM_ACTOR,
            "context": json.dumps(context),
            "alert_id": alert_id,
        },
    ).fetchone()
    if row is None:
        raise BookingGuardError(f"review item for call {call_id} neither created nor found")
    return row[0], row[1]


def clean_context(context: Mapping[str, object]) -> dict[str, object]:
    """§F.1: whitelisted keys, scalar values (strings without control characters, at most 500
    characters), short lists, one nested level, 10 KB in all; anything else is dropped."""
    cleaned = {k: _clean_value(v, nested=True) for k, v in context.items() if k in CONTEXT_KEYS}
    cleaned = {k: v for k, v in cleaned.items() if v is not _DROP}
    if len(json.dumps(cleaned, default=str)) > _CONTEXT_BYTES:
        return {"context_dropped": "larger than 10 KB"}
    return cleaned


_DROP = object()


def _clean_value(value: object, *, nested: bool) -> object:
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        return _CONTROL.sub("", value)[:_CONTEXT_STRING_CHARS]
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, list | tuple):
        items = [_clean_value(v, nested=False) for v in value[:_CONTEXT_LIST_ITEMS]]
        return [v for v in items if v is not _DROP and not isinstance(v, list | dict)]
    if nested and isinstance(value, Mapping):
        inner = {str(k)[:64]: _clean_value(v, nested=False) for k, v in value.items()}
        return {k: v for k, v in inner.items() if v is not _DROP}
    return _DROP


def notify_via_channels(settings: Settings | None = None) -> Notifier:
    """A notifier that sends pending alerts now, through the monitor's channels (Slack, e-mail;
    needs the ``airflow`` extra), and raises when the rollback's group was not delivered. A
    throttled group stays pending for the next notify run, which is not a failure."""

    def send(result: RollbackResult) -> None:
        from booking_guard.notifications import notify

        report = notify(settings or Settings.from_env())
        key = f"notify:{ROLLBACK_ALERT}:{result.company_id or 'none'}"
        if report.unavailable:
            raise BookingGuardError("; ".join(report.unavailable))
        if key in report.failed or key in report.timed_out:
            raise BookingGuardError(f"{key} not delivered")

    return send


# -- retries -----------------------------------------------------------------------------

_JITTER = random.Random()  # noqa: S311 - spreads retries in time, not a secret


def backoff_seconds(attempt: int, rng: random.Random = _JITTER) -> float:
    """§A.3: after failed attempt ``attempt`` (1-based), ``d = 2**(attempt-1)`` s plus a jitter of
    a whole number of milliseconds in [0, d*100], i.e. up to 10 % of d."""
    delay: int = 2 ** (attempt - 1)
    return delay + rng.randint(0, delay * 100) / 1000


def retry_with_backoff(
    fn: Callable[[], T],
    max_attempts: int = 3,
    *,
    retryable: Callable[[Exception], bool] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    rng: random.Random = _JITTER,
) -> T:
    """Call ``fn`` up to ``max_attempts`` times with §A.3's backoff; the last exception is
    re-raised unchanged, and so is one ``retryable`` rejects.

    An open circuit (``CircuitOpenError``) is waited for only when it admits calls again within
    the backoff this attempt waits anyway (its ``retry_after`` fits); otherwise it is raised at
    once instead of spending attempts on a circuit that will refuse them.
    """
    if max_attempts < 1:
        raise ValueError("max_attempts must be 1 or more")
    for attempt in range(1, max_attempts + 1):
        try:
            return fn()
        except Exception as exc:
            if attempt == max_attempts:
                raise
            delay = backoff_seconds(attempt, rng)
            if isinstance(exc, CircuitOpenError):
                if exc.retry_after > delay:
                    raise
            elif retryable is not None and not retryable(exc):
                raise
            log.info(
                "attempt %s of %s failed (%s); retrying", attempt, max_attempts, type(exc).__name__
            )
            sleep(delay)
    raise AssertionError("unreachable")
