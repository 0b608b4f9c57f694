"""Post-booking validation and rollback against real PostgreSQL: BEHAVIOUR §A, §F.1, §F.2, §G-3/4.

Bookings are written as the booking path writes them: an appointment insert, whose trigger links
the call. Inconsistent rows are planted past the triggers.
"""

from __future__ import annotations

import json
import threading

import pytest

from booking_guard.errors import ConfigurationError
from booking_guard.settings import Settings
from booking_guard.validation import (
    Caller,
    CallNotFound,
    NotAuthorized,
    RollbackNotificationError,
    notify_via_channels,
    rollback_on_failure,
    validate_appointment_creation,
)
from tests.helpers import cli, plant, query


@pytest.fixture
def db(migrated_db: str) -> str:
    query(migrated_db, "INSERT INTO companies (id, name) VALUES (1, 'one'), (2, 'two')")
    return migrated_db


def make_call(db: str, call_id: int, company: int = 1, **flags: object) -> int:
    columns = ", ".join(["id", "company_id", "retell_call_id", "direction", *flags])
    values = ", ".join(["%s"] * (4 + len(flags)))
    query(
        db,
        f"INSERT INTO calls ({columns}) VALUES ({values})",
        (call_id, company, f"rc_{call_id}", "inbound", *flags.values()),
    )
    return call_id


def book(db: str, call_id: int, *, company: int = 1, uid: str | None = None, age: str = "0 s"):
    """An appointment as the booking path writes it; ``age`` backdates its creation."""
    return query(
        db,
        "INSERT INTO appointments (company_id, call_id, calcom_v2_booking_id, source, created_at)"
        " VALUES (%s, %s, %s, 'retell_webhook', clock_timestamp() - %s::interval) RETURNING id",
        (company, call_id, uid or f"bk_{call_id}", age),
    )[0][0]


def call_flags(db: str, call_id: int) -> tuple:
    return query(
        db,
        "SELECT appointment_made, session_outcome, appointment_link_status, booking_failed,"
        " booking_failure_reason, requires_manual_processing FROM calls WHERE id = %s",
        (call_id,),
    )[0]


# -- §A.1 ----------------------------------------------------------------------------------


def test_a_fresh_booking_passes_by_call_by_appointment_and_with_its_booking_id(db) -> None:
    appointment = book(db, make_call(db, 10))
    for result in (
        validate_appointment_creation(10, url=db),
        validate_appointment_creation(10, appointment, url=db),
        validate_appointment_creation(10, appointment, "bk_10", url=db),
    ):
        assert result.success and result.reason is None
        assert set(result.details) == {"appointment_id", "validated_at"}
        assert result.details["appointment_id"] == appointment


def test_reads_the_environment_url_and_fresh_rows(db, monkeypatch) -> None:
    monkeypatch.setenv("BOOKING_GUARD_DATABASE_URL", db)
    book(db, make_call(db, 10))
    assert validate_appointment_creation(10).success
    plant(db, "UPDATE calls SET appointment_link_status = NULL WHERE id = 10")
    again = validate_appointment_creation(10)
    assert again.reason == "call_flags_inconsistent"
    assert again.details["issues"] == ["appointment_link_status is '' instead of 'linked'"]


def test_appointment_not_found_when_missing_or_soft_deleted(db) -> None:
    make_call(db, 10)
    deleted = book(db, make_call(db, 11))
    query(db, "UPDATE appointments SET deleted_at = now() WHERE id = %s", (deleted,))
    for given in (999_999, deleted):
        result = validate_appointment_creation(10 if given == 999_999 else 11, given, url=db)
        assert not result.success and result.reason == "appointment_not_found"
        assert result.details["expected_id"] == given
        assert result.details["description"] and result.details["validated_at"]


def test_appointment_not_linked_without_a_live_appointment(db) -> None:
    make_call(db, 10)
    deleted = book(db, make_call(db, 11))
    query(db, "UPDATE appointments SET deleted_at = now() WHERE id = %s", (deleted,))
    for call_id in (10, 11):
        result = validate_appointment_creation(call_id, url=db)
        assert result.reason == "appointment_not_linked"
        assert result.details["call_id"] == call_id
        assert result.details["retell_call_id"] == f"rc_{call_id}"


def test_without_an_id_the_newest_appointment_is_checked(db) -> None:
    make_call(db, 10)
    book(db, 10, uid="old", age="2 s")
    newest = book(db, 10, uid="new")
    result = validate_appointment_creation(10, calcom_booking_id="new", url=db)
    assert result.success and result.details["appointment_id"] == newest
    assert validate_appointment_creation(10, calcom_booking_id="old", url=db).reason == (
        "calcom_booking_id_mismatch"
    )


def test_appointment_of_another_call_is_wrong_call(db) -> None:
    make_call(db, 10)
    other = book(db, make_call(db, 11))
    result = validate_appointment_creation(10, other, url=db)
    assert result.reason == "appointment_wrong_call"
    assert result.details | {"description": None, "validated_at": None} == {
        "appointment_id": other,
        "appointment_call_id": 11,
        "expected_call_id": 10,
        "description": None,
        "validated_at": None,
    }


def test_cross_tenant_appointment_is_rejected_without_showing_its_fields(db) -> None:
    make_call(db, 10, company=1)
    foreign = book(db, make_call(db, 20, company=2), company=2)
    linked = plant(
        db,
        "INSERT INTO appointments (company_id, call_id, calcom_v2_booking_id)"
        " VALUES (2, 10, 'bk_x') RETURNING id",
    )[0][0]
    plant(db, "UPDATE calls SET appointment_made = true, session_outcome = 'appointment_booked',"
              " appointment_link_status = 'linked' WHERE id = 10")  # fmt: skip
    by_call = validate_appointment_creation(10, url=db)
    by_id = validate_appointment_creation(10, foreign, url=db)
    assert by_call.reason == by_id.reason == "appointment_wrong_company"
    assert by_call.details["appointment_id"] == linked
    assert set(by_id.details) == {"appointment_id", "call_id", "description", "validated_at"}
    assert 20 not in by_id.details.values()  # the foreign call is not shown


def test_booking_id_mismatch(db) -> None:
    appointment = book(db, make_call(db, 10), uid="bk_real")
    result = validate_appointment_creation(10, appointment, "bk_other", url=db)
    assert result.reason == "calcom_booking_id_mismatch"
    assert result.details["appointment_calcom_id"] == "bk_real"
    assert result.details["expected_calcom_id"] == "bk_other"


def test_g3_a_ten_minute_old_appointment_fails_and_300_seconds_pass(db) -> None:
    old = book(db, make_call(db, 10), age="10 min")
    result = validate_appointment_creation(10, old, url=db)
    assert result.reason == "appointment_too_old"
    assert 600 <= result.details["age_seconds"] < 605
    assert result.details["max_age_seconds"] == 300
    assert result.details["created_at"].startswith(str(query(
        db, "SELECT created_at FROM appointments WHERE id = %s", (old,))[0][0].date()))  # fmt: skip
    book(db, make_call(db, 11), age="300 s")
    assert validate_appointment_creation(11, url=db).success
    book(db, make_call(db, 12), age="301 s")
    assert validate_appointment_creation(12, url=db).reason == "appointment_too_old"


def test_recency_is_absolute_a_future_timestamp_is_also_too_old(db) -> None:
    book(db, make_call(db, 10), age="-10 min")  # written by a host whose clock runs ahead
    assert validate_appointment_creation(10, url=db).details["age_seconds"] >= 599


def test_max_age_is_configurable(db, monkeypatch) -> None:
    book(db, make_call(db, 10), age="10 min")
    monkeypatch.setenv("BOOKING_GUARD_VALIDATION_MAX_AGE_SECONDS", "900")
    assert validate_appointment_creation(10, url=db).success
    monkeypatch.setenv("BOOKING_GUARD_VALIDATION_MAX_AGE_SECONDS", "soon")
    with pytest.raises(ConfigurationError, match="BOOKING_GUARD_VALIDATION_MAX_AGE_SECONDS"):
        validate_appointment_creation(10, url=db)


def test_call_flags_are_all_evaluated_and_accumulated(db) -> None:
    make_call(db, 10)
    plant(db, "INSERT INTO appointments (company_id, call_id, calcom_v2_booking_id)"
              " VALUES (1, 10, 'bk_10')")  # fmt: skip
    plant(db, "UPDATE calls SET session_outcome = 'call_ended', appointment_link_status = 'pending'"
              " WHERE id = 10")  # fmt: skip
    result = validate_appointment_creation(10, url=db)
    assert result.reason == "call_flags_inconsistent"
    assert result.details["issues"] == [
        "appointment_made is false",
        "session_outcome is 'call_ended' instead of 'appointment_booked'",
        "appointment_link_status is 'pending' instead of 'linked'",
    ]
    assert (
        result.details["appointment_made"],
        result.details["session_outcome"],
        result.details["appointment_link_status"],
    ) == (False, "call_ended", "pending")


def test_missing_or_deleted_call_is_an_error(db) -> None:
    make_call(db, 10)
    query(db, "UPDATE calls SET deleted_at = now() WHERE id = 10")
    for call_id in (10, 404):
        with pytest.raises(CallNotFound):
            validate_appointment_creation(call_id, url=db)


# -- §F.1: the authorization guard ----------------------------------------------------------


def test_service_token_or_the_calls_company(db, monkeypatch) -> None:
    book(db, make_call(db, 10, company=1))
    monkeypatch.delenv("BOOKING_GUARD_SERVICE_TOKEN", raising=False)
    with pytest.raises(NotAuthorized):  # no token configured: tokens are refused
        validate_appointment_creation(10, url=db, caller=Caller(service_token=""))
    monkeypatch.setenv("BOOKING_GUARD_SERVICE_TOKEN", "s3cret-token")
    assert validate_appointment_creation(10, url=db, caller=Caller(service_token="s3cret-token"))
    for caller in (Caller(service_token="s3cret-tokem"), Caller(company_id=2), Caller()):
        with pytest.raises(NotAuthorized, match="not authorized for call 10"):
            validate_appointment_creation(10, url=db, caller=caller)
    assert validate_appointment_creation(10, url=db, caller=Caller(company_id=1)).success
    with pytest.raises(NotAuthorized):  # a company caller cannot tell missing from foreign
        validate_appointment_creation(404, url=db, caller=Caller(company_id=1))
    assert "s3cret" not in repr(Caller(service_token="s3cret-token"))


def test_a_foreign_company_cannot_roll_back(db) -> None:
    book(db, make_call(db, 10, company=1))
    before = call_flags(db, 10)
    with pytest.raises(NotAuthorized):
        rollback_on_failure(10, "appointment_not_linked", url=db, caller=Caller(company_id=2))
    assert call_flags(db, 10) == before
    assert query(db, "SELECT count(*) FROM manual_review_queue")[0][0] == 0


# -- §A.2 / §B.5 / §F.2: rollback -------------------------------------------------------------


def review_items(db: str) -> list[tuple]:
    return query(
        db,
        "SELECT call_id, reason, priority, status, dedup_key, context, company_id"
        " FROM manual_review_queue ORDER BY id",
    )


def test_rollback_sets_flags_alert_and_review_item_in_one_go(db) -> None:
    appointment = book(db, make_call(db, 10))
    result = rollback_on_failure(
        10,
        "call_flags_inconsistent",
        url=db,
        context={"appointment_id": appointment, "transcript": "Hallo, Anna hier", "x": 1},
    )
    assert (
        result.applied
        and result.review_item_created
        and result.review_reason == ("appointment_validation_failed")
    )
    assert call_flags(db, 10) == (
        False, "creation_failed", "creation_failed", True, "call_flags_inconsistent", True
    )  # fmt: skip
    (alert,) = query(
        db,
        "SELECT alert_type, severity, entity_type, entity_id, description, metadata,"
        " auto_corrected, company_id, notified_at FROM data_consistency_alerts"
        " WHERE alert_type = 'appointment_rollback'",
    )
    assert alert[:4] == ("appointment_rollback", "critical", "call", 10)
    assert "call_flags_inconsistent" in alert[4]
    assert alert[5]["retell_call_id"] == "rc_10" and alert[5]["rolled_back_at"]
    assert alert[5]["rollback_reason"] == "call_flags_inconsistent"
    assert alert[6:] == (False, 1, None)
    ((call_id, reason, priority, status, dedup, context, company),) = review_items(db)
    assert (call_id, reason, priority, status, company) == (
        10, "appointment_validation_failed", 1, "pending", 1
    )  # fmt: skip
    assert dedup == "appointment_validation_failed:call:10"
    assert context == {"appointment_id": appointment, "rollback_reason": "call_flags_inconsistent"}


@pytest.mark.parametrize(
    ("reason", "queued_as", "priority", "severity"),
    [
        ("appointment_too_old", "appointment_validation_failed", 1, "critical"),
        ("calcom_booking_failed", "calcom_booking_failed", 2, "warning"),
        ("customer_creation_failed", "customer_creation_failed", 3, "warning"),
        ("service_not_found", "service_not_found", 4, "warning"),
        ("slot_taken", "slot_taken", 5, "warning"),
    ],
)
def test_priority_and_severity_mapping(db, reason, queued_as, priority, severity) -> None:
    make_call(db, 10)
    rollback_on_failure(10, reason, url=db)
    assert [(r[1], r[2]) for r in review_items(db)] == [(queued_as, priority)]
    assert query(db, "SELECT severity FROM data_consistency_alerts")[0][0] == severity


def test_rolling_back_twice_is_a_no_op(db) -> None:
    book(db, make_call(db, 10))
    first = rollback_on_failure(10, "appointment_not_linked", url=db)
    stamp = query(db, "SELECT updated_at FROM calls WHERE id = 10")[0][0]
    again = rollback_on_failure(10, "calcom_booking_failed", url=db, notify=pytest.fail)
    assert first.applied and not again.applied
    assert query(db, "SELECT updated_at, booking_failure_reason FROM calls WHERE id = 10")[0] == (
        stamp, "appointment_not_linked"
    )  # fmt: skip
    assert len(review_items(db)) == 1
    assert query(db, "SELECT count(*) FROM data_consistency_alerts"
                     " WHERE alert_type = 'appointment_rollback'")[0][0] == 1  # fmt: skip


def test_concurrent_rollbacks_of_one_call_apply_once(db) -> None:
    book(db, make_call(db, 10))
    results = []
    threads = [
        threading.Thread(target=lambda: results.append(rollback_on_failure(10, "x_y", url=db)))
        for _ in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r.applied for r in results) == [False, False, False, True]
    assert len(review_items(db)) == 1


def test_notification_failure_is_surfaced_and_undoes_nothing(db) -> None:
    book(db, make_call(db, 10))
    seen = []

    def broken(result) -> None:
        seen.append(call_flags(db, result.call_id))  # runs after the commit
        raise ConnectionError("monitor unreachable")

    with pytest.raises(RollbackNotificationError) as raised:
        rollback_on_failure(10, "appointment_not_linked", url=db, notify=broken)
    assert isinstance(raised.value.__cause__, ConnectionError)
    assert raised.value.rollback.applied and raised.value.rollback.review_item_id
    assert seen == [call_flags(db, 10)] and call_flags(db, 10)[1] == "creation_failed"
    assert len(review_items(db)) == 1


def test_a_failed_write_inside_the_rollback_leaves_nothing_half_applied(db) -> None:
    book(db, make_call(db, 10))
    before = call_flags(db, 10)
    query(
        db,
        "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS"
        " $$ BEGIN RAISE EXCEPTION 'queue unavailable'; END $$;"
        " CREATE TRIGGER refuse BEFORE INSERT ON manual_review_queue"
        " FOR EACH ROW EXECUTE FUNCTION refuse()",
    )
    with pytest.raises(Exception, match="queue unavailable"):
        rollback_on_failure(10, "appointment_not_linked", url=db, notify=pytest.fail)
    assert call_flags(db, 10) == before
    assert query(db, "SELECT count(*) FROM data_consistency_alerts"
                     " WHERE alert_type = 'appointment_rollback'")[0][0] == 0  # fmt: skip


def test_rollback_reason_must_be_a_code_and_the_call_must_exist(db) -> None:
    make_call(db, 10)
    with pytest.raises(Exception, match="reason is a code"):
        rollback_on_failure(10, "Kunde Anna +49 170 1234567", url=db)
    with pytest.raises(CallNotFound):
        rollback_on_failure(404, "appointment_not_linked", url=db)


def test_notification_through_the_monitors_channels(db, slack, monkeypatch) -> None:
    book(db, make_call(db, 10))
    book(db, make_call(db, 11))
    settings = Settings(database_url=db, redis_url="redis://127.0.0.1:6379/0")
    slack.status = 500
    with pytest.raises(RollbackNotificationError):
        rollback_on_failure(
            10, "calcom_booking_failed", url=db, notify=notify_via_channels(settings)
        )
    assert call_flags(db, 10)[1] == "creation_failed"
    pending = "SELECT count(*) FROM data_consistency_alerts WHERE notified_at IS NULL"
    assert query(db, pending)[0][0] == 1  # kept for the monitor's next notify run

    slack.status = 200
    rollback_on_failure(
        10 + 1, "calcom_booking_failed", url=db, notify=notify_via_channels(settings)
    )
    assert query(db, pending)[0][0] == 0
    assert "appointment_rollback" in slack.texts[-1] and "2 open alerts" in slack.texts[-1]


# -- the command line ------------------------------------------------------------------------


def test_cli_validate_booking_exit_codes(db) -> None:
    appointment = book(db, make_call(db, 10))
    book(db, make_call(db, 11), age="10 min")
    valid = cli("validate-booking", "--call-id", "10", "--booking-id", "bk_10", url=db)
    assert valid.returncode == 0, valid.stderr
    assert valid.stdout == f"call 10: valid (appointment {appointment})\n"
    invalid = cli("validate-booking", "--call-id", "11", url=db)
    assert invalid.returncode == 1
    assert invalid.stdout.startswith("call 11: invalid: appointment_too_old: ")
    assert "  max_age_seconds: 300\n" in invalid.stdout
    as_json = cli(
        "validate-booking", "--call-id", "10", "--appointment-id", "999", "--json", url=db
    )
    data = json.loads(as_json.stdout)
    assert as_json.returncode == data["exit_code"] == 1
    assert (data["success"], data["reason"]) == (False, "appointment_not_found")
    missing = cli("validate-booking", "--call-id", "404", url=db)
    assert missing.returncode == 3 and missing.stdout == ""
    assert missing.stderr.strip() == "booking-guard: error: call 404 not found (or deleted)"
    assert cli("validate-booking", url=db).returncode == 3  # --call-id is required
