"""Post-booking validation without a database: §A.3's retries, the authorization guard, the
context filter, the rollback mappings, and what importing the validator costs."""

from __future__ import annotations

import json
import random
import subprocess
import sys

import pytest

from booking_circuit_breaker import CircuitOpenError
from booking_guard import review
from booking_guard.calcom import CalcomError
from booking_guard.severity import Severity
from booking_guard.validation import (
    DEFAULT_ROLLBACK_SEVERITY,
    ROLLBACK_SEVERITY,
    VALIDATION_REASONS,
    Caller,
    NotAuthorized,
    authorize,
    backoff_seconds,
    clean_context,
    retry_with_backoff,
    review_reason,
)


class Flaky:
    """Fails ``failures`` times with a fresh exception each time, then returns "ok"."""

    def __init__(self, failures: int, error: type[Exception] = ConnectionError) -> None:
        self.failures = failures
        self.error = error
        self.calls = 0
        self.raised: list[Exception] = []

    def __call__(self) -> str:
        self.calls += 1
        if self.calls <= self.failures:
            exc = self.error(f"failure {self.calls}")
            self.raised.append(exc)
            raise exc
        return "ok"


# -- §A.3 ----------------------------------------------------------------------------------


def test_backoff_doubles_with_a_jitter_of_whole_milliseconds_up_to_a_tenth() -> None:
    rng = random.Random(1)
    for attempt, base in ((1, 1), (2, 2), (3, 4), (4, 8)):
        draws = [backoff_seconds(attempt, rng) for _ in range(2000)]
        assert base <= min(draws) and max(draws) <= base * 1.1
        assert all(round((d - base) * 1000, 6).is_integer() for d in draws)
        assert len(set(draws)) > 50  # spread, not a constant
        assert min(draws) < base + base * 0.01 and max(draws) > base * 1.09  # both ends reached


def test_first_success_returns_at_once() -> None:
    slept: list[float] = []
    assert retry_with_backoff(Flaky(0), sleep=slept.append) == "ok"
    assert slept == []


def test_two_failures_then_success_wait_at_least_three_seconds() -> None:
    slept: list[float] = []
    fn = Flaky(2)
    assert retry_with_backoff(fn, 3, sleep=slept.append) == "ok"
    assert fn.calls == 3 and len(slept) == 2
    assert 1 <= slept[0] <= 1.1 and 2 <= slept[1] <= 2.2 and sum(slept) >= 3


def test_all_failing_reraises_the_last_exception_unchanged_without_a_final_sleep() -> None:
    slept: list[float] = []
    fn = Flaky(5)
    with pytest.raises(ConnectionError) as raised:
        retry_with_backoff(fn, 5, sleep=slept.append)
    assert raised.value is fn.raised[-1] and str(raised.value) == "failure 5"
    assert fn.calls == 5 and len(slept) == 4 and sum(slept) >= 15


def test_a_non_retryable_error_is_raised_at_once() -> None:
    slept: list[float] = []
    fn = Flaky(3, ValueError)
    with pytest.raises(ValueError):
        retry_with_backoff(
            fn, retryable=lambda e: not isinstance(e, ValueError), sleep=slept.append
        )
    assert fn.calls == 1 and slept == []


def test_an_open_circuit_that_will_not_reopen_in_time_stops_the_retries() -> None:
    slept: list[float] = []
    calls = []

    def open_circuit() -> None:
        calls.append(1)
        raise CircuitOpenError("calcom", 25.0)

    with pytest.raises(CircuitOpenError):
        retry_with_backoff(open_circuit, 3, sleep=slept.append)
    assert len(calls) == 1 and slept == []


def test_an_open_circuit_that_reopens_within_the_backoff_is_waited_for() -> None:
    slept: list[float] = []
    answers = iter([CircuitOpenError("calcom", 0.4), "booked"])

    def fn() -> str:
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    assert retry_with_backoff(fn, 3, sleep=slept.append) == "booked"
    assert len(slept) == 1 and slept[0] >= 1.0 >= 0.4  # the backoff already covers retry_after


def test_interrupts_are_not_retried_and_attempts_must_be_positive() -> None:
    def interrupted() -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        retry_with_backoff(interrupted, sleep=pytest.fail)
    with pytest.raises(ValueError):
        retry_with_backoff(Flaky(0), 0)


def test_which_cal_com_failures_are_retried() -> None:
    assert CalcomError("unreachable").retryable  # never sent
    assert CalcomError("503", status_code=503).retryable
    assert CalcomError("429", status_code=429).retryable
    assert not CalcomError("500", status_code=500).retryable
    assert not CalcomError("409", status_code=409).retryable
    assert not CalcomError("no answer", outcome_unknown=True).retryable


# -- §F.1: the guard and the context filter -------------------------------------------------


def test_authorize(monkeypatch) -> None:
    monkeypatch.setenv("BOOKING_GUARD_SERVICE_TOKEN", "tok-123456")
    authorize(None, 1, 7)  # the booking application itself
    authorize(Caller(service_token="tok-123456"), 1, 7)
    authorize(Caller(company_id=7), 1, 7)
    for caller in (Caller(service_token="tok-12345"), Caller(company_id=8), Caller()):
        with pytest.raises(NotAuthorized):
            authorize(caller, 1, 7)
    with pytest.raises(NotAuthorized):  # a wrong token does not fall back to the company
        authorize(Caller(service_token="wrong", company_id=7), 1, 7)
    monkeypatch.setenv("BOOKING_GUARD_SERVICE_TOKEN", "")
    with pytest.raises(NotAuthorized):
        authorize(Caller(service_token=""), 1, 7)


def test_context_keeps_whitelisted_ids_and_codes_only() -> None:
    cleaned = clean_context(
        {
            "call_id": 5,
            "reason": "slot\x00_taken\n",
            "error": "x" * 900,
            "transcript": "Anna Müller, 0170 1234567",
            "customer": {"name": "Anna"},
            "validation": {"issues": ["a", {"deep": 1}], "age_seconds": 600, "obj": object()},
            "attempts": 3,
        }
    )
    assert cleaned == {
        "call_id": 5,
        "reason": "slot_taken",
        "error": "x" * 500,
        "validation": {"issues": ["a"], "age_seconds": 600},
        "attempts": 3,
    }
    huge = clean_context({"validation": {f"k{i}": "y" * 400 for i in range(40)}})
    assert huge == {"context_dropped": "larger than 10 KB"}
    assert len(json.dumps(clean_context({"error": ["z" * 500] * 100}))) < 10_000


PRIORITIES = (
    "appointment_validation_failed",
    "calcom_booking_failed",
    "customer_creation_failed",
    "service_not_found",
    "anything_else",
)


def test_rollback_mappings_fix_g4() -> None:
    assert {review_reason(r) for r in VALIDATION_REASONS} == {"appointment_validation_failed"}
    assert review_reason("calcom_booking_failed") == "calcom_booking_failed"
    assert [review.priority(r) for r in PRIORITIES] == [1, 2, 3, 4, 5]
    assert ROLLBACK_SEVERITY["appointment_validation_failed"] is Severity.CRITICAL
    assert DEFAULT_ROLLBACK_SEVERITY is Severity.WARNING


# -- what the booking application pays to import it -----------------------------------------


def test_importing_the_validator_and_booking_path_pulls_in_no_airflow_gx_or_pandas() -> None:
    code = (
        "import sys, json; import booking_guard.validation, booking_guard.booking,"
        " booking_guard.calcom; print(json.dumps(sorted(m.split('.')[0] for m in sys.modules)))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    loaded = set(json.loads(done.stdout))
    assert {"booking_guard", "booking_circuit_breaker", "psycopg", "httpx"} <= loaded
    assert not loaded & {"airflow", "great_expectations", "pandas", "numpy", "sqlalchemy"}
