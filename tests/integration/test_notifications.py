"""Notifications through a real local HTTP server standing in for Slack, and a real Redis."""

from __future__ import annotations

import time
from dataclasses import replace

import pytest

from booking_guard import alerts, detection
from booking_guard.monitor import run_check
from booking_guard.notifications import notify
from booking_guard.settings import Settings
from booking_guard.severity import Severity
from tests.helpers import plant, query


@pytest.fixture
def db(migrated_db: str) -> str:
    """Two tenants; calls with personal data and defects of two rules."""
    query(migrated_db, "INSERT INTO companies (id, name) VALUES (1, 'a'), (2, 'b')")
    plant(
        migrated_db,
        "INSERT INTO calls (id, company_id, from_number, customer_name, direction,"
        " appointment_made, appointment_link_status, booking_failed) VALUES"
        " (1, 1, '+49 170 1234567', 'Anna Müller', NULL, false, 'unlinked', false),"
        " (2, 1, '+49 170 7654321', 'Ben Schmidt', NULL, true, 'linked', false),"
        " (3, 2, '0170 5550001', 'Clara Weber', '', false, 'unlinked', true)",
    )
    return migrated_db


def detect_and_record(url: str) -> None:
    alerts.record(url, detection.detect(url, full=True))


def unnotified(url: str) -> int:
    return query(
        url,
        "SELECT count(*) FROM data_consistency_alerts WHERE notified_at IS NULL"
        " AND severity <> 'info'",
    )[0][0]


def test_one_grouped_message_per_rule_and_company_then_throttled(db, slack, redis_server) -> None:
    settings = Settings(database_url=db, redis_url=redis_server.url, alert_cooldown_seconds=2)
    detect_and_record(db)
    report = notify(settings)
    assert sorted(report.sent) == [
        "notify:missing_appointment:1",
        "notify:missing_direction:1",
        "notify:missing_direction:2",
    ]  # booking_failure is info: not sent by default
    assert len(slack.received) == 3 and unnotified(db) == 0
    grouped = next(t for t in slack.texts if "missing_direction — company 1" in t)
    assert "2 open alerts" in grouped and "call 1" in grouped and "call 2" in grouped

    # A new finding of a group inside its cooldown waits; other groups are independent.
    plant(db, "INSERT INTO calls (id, company_id, direction) VALUES (4, 1, NULL)")
    detect_and_record(db)
    again = notify(settings)
    assert again.sent == [] and again.throttled == ["notify:missing_direction:1"]
    assert unnotified(db) == 1 and len(slack.received) == 3

    time.sleep(2.1)  # the cooldown is clock-driven: after it the group is sent again
    later = notify(settings)
    assert later.sent == ["notify:missing_direction:1"] and unnotified(db) == 0
    assert "1 open alert " in slack.texts[-1]


def test_messages_carry_no_personal_data(db, slack, redis_server) -> None:
    detect_and_record(db)
    notify(Settings(database_url=db, redis_url=redis_server.url, notify_min_severity=Severity.INFO))
    assert len(slack.received) == 4
    text = " ".join(slack.texts)
    for secret in ("1234567", "7654321", "5550001", "Anna", "Müller", "Schmidt", "Weber"):
        assert secret not in text


def test_a_failed_send_is_kept_and_retried(db, slack, redis_server) -> None:
    settings = Settings(database_url=db, redis_url=redis_server.url)
    slack.status = 500
    report = run_check(settings, full=True, build_docs=False)  # detection does not fail
    assert report.worst_severity is Severity.CRITICAL and report.errors == []
    assert len(report.notifications.failed) == 3 and report.notifications.sent == []
    assert unnotified(db) == 4  # nothing lost

    slack.status = 200  # Slack is back: the next run sends at once, no cooldown was spent
    retry = notify(settings)
    assert len(retry.sent) == 3 and unnotified(db) == 0
    assert len(slack.received) == 6


def test_throttling_holds_from_postgresql_when_redis_is_stopped(db, slack, redis_server) -> None:
    settings = Settings(database_url=db, redis_url=redis_server.url, alert_cooldown_seconds=300)
    detect_and_record(db)
    assert len(notify(settings).sent) == 3

    redis_server.stop()
    plant(db, "INSERT INTO calls (id, company_id, direction) VALUES (4, 1, NULL), (5, 2, NULL)")
    detect_and_record(db)
    started = time.monotonic()
    report = notify(settings)
    assert time.monotonic() - started < 3  # short Redis timeouts, no retry storm
    assert report.throttle_backend == "postgresql"
    assert report.sent == [] and sorted(report.throttled) == [
        "notify:missing_direction:1",
        "notify:missing_direction:2",
    ]
    assert len(slack.received) == 3


def test_redis_down_from_the_start_still_throttles(db, slack, redis_server) -> None:
    redis_server.stop()  # nothing answers on its port
    settings = Settings(database_url=db, redis_url=redis_server.url)
    detect_and_record(db)
    first = notify(settings)
    assert first.throttle_backend == "postgresql" and len(first.sent) == 3
    plant(db, "INSERT INTO calls (id, company_id, direction) VALUES (4, 1, NULL)")
    detect_and_record(db)
    assert notify(settings).throttled == ["notify:missing_direction:1"]


def test_no_channel_means_nothing_is_marked_sent(db, slack) -> None:
    detect_and_record(db)
    report = notify(replace(Settings(database_url=db), slack_enabled=False))
    assert report.channels == [] and report.sent == []
    assert unnotified(db) == 4 and slack.received == []
