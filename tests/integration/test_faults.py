"""Faults injected for real: a Slack that fails or hangs, a killed backend, a racing run.

Each test starts what it breaks (a local Slack stand-in, a lock held by another session) and
stops only what it started.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import replace

import psycopg
import pytest

from booking_guard import alerts, detection, monitor, notifications
from booking_guard.errors import BookingGuardError
from booking_guard.settings import Settings
from tests.helpers import SlackStandIn, cli, plant, query

TOKEN = "XOXTESTTOKEN4242"  # recognisable: must never appear in any output
PASSWORD = "pw-SECRET-9876"


@pytest.fixture
def defects(migrated_db: str) -> str:
    """Calls of two companies with defects of two rules."""
    query(migrated_db, "INSERT INTO companies (id, name) VALUES (1, 'a'), (2, 'b')")
    plant(
        migrated_db,
        "INSERT INTO calls (id, company_id, direction, appointment_made)"
        " SELECT g, 1 + g %% 2, NULL, g %% 3 = 0 FROM generate_series(1, 12) g",
    )
    return migrated_db


def test_a_failing_slack_leaks_no_secret_and_json_stays_json(
    defects: str, slack: SlackStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    slack.status = 500
    webhook = slack.url.replace("/hook", f"/{TOKEN}")
    env = {
        "AIRFLOW_CONN_SLACK_CONSISTENCY": json.dumps(
            {"conn_type": "slackwebhook", "password": webhook}
        ),
        "DATA_CONSISTENCY_ALERT_EMAIL": "true",
        "DATA_CONSISTENCY_ALERT_EMAIL_TO": "oncall@example.org",
        "AIRFLOW_CONN_SMTP_DEFAULT": json.dumps(
            {"conn_type": "smtp", "host": "127.0.0.1", "port": 1, "password": PASSWORD}
        ),
    }
    result = cli("check", "--full", "--json", "--no-docs", url=defects, env=env)
    report = json.loads(result.stdout)  # nothing but the report on stdout
    assert report["notifications"]["failed"], result.stderr
    assert slack.received, "the send was attempted"
    for output in (result.stdout, result.stderr):
        assert TOKEN not in output and PASSWORD not in output
    status = cli("status", url=defects, env=env)
    opened = report["alerts"]["opened"]
    assert f"pending slack notifications: {opened}," in status.stdout
    assert f"pending email notifications: {opened}," in status.stdout
    assert TOKEN not in status.stdout + status.stderr


def test_a_hung_slack_costs_one_deadline_and_is_not_resent_at_once(
    defects: str, slack: SlackStandIn
) -> None:
    alerts.record(defects, detection.detect(defects, full=True))
    slack.delay = 30
    settings = replace(Settings(database_url=defects), notify_deadline_seconds=5)
    started = time.monotonic()
    report = notifications.notify(settings)
    assert time.monotonic() - started < 15  # four groups at once, one deadline
    # Six groups: four in flight at the deadline, two never started (retried next run).
    assert len(report.timed_out) == 4 and len(report.failed) == 2 and report.sent == []
    again = notifications.notify(settings)  # in flight may mean delivered: keep the cooldown
    assert again.sent == [] and sorted(again.throttled) == sorted(report.timed_out)
    refs = {text.rsplit("(ref ", 1)[1] for text in slack.texts}
    assert len(refs) == len(slack.texts)  # one reference per group, stable on a resend


def test_notify_turns_red_on_stale_undelivered_alerts_and_green_once_delivered(
    defects: str, slack: SlackStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    alerts.record(defects, detection.detect(defects, full=True))
    query(defects, "UPDATE data_consistency_alerts SET detected_at = now() - interval '2 hours'")
    settings = Settings(database_url=defects)
    monkeypatch.delenv("AIRFLOW_CONN_SLACK_CONSISTENCY")
    ((pending,),) = query(defects, "SELECT count(*) FROM data_consistency_alerts")
    with pytest.raises(notifications.UndeliveredAlerts, match="not defined") as raised:
        monitor.notify(settings)
    assert f"{pending} alert(s) not notified, the oldest for 120 min" in str(raised.value)
    monkeypatch.setenv(
        "AIRFLOW_CONN_SLACK_CONSISTENCY",
        json.dumps({"conn_type": "slackwebhook", "password": slack.url}),
    )
    report = monitor.notify(settings)
    assert report.pending == 0 and len(report.sent) == 6  # 3 rules x 2 companies


def test_a_full_scan_does_not_resolve_what_a_concurrent_run_found(defects: str) -> None:
    full = detection.detect(defects, full=True)  # detection done, alerts not yet written
    ((since,),) = query(defects, "SELECT now()")
    plant(defects, "INSERT INTO calls (id, company_id, direction) VALUES (99, 1, NULL)")
    incremental = detection.detect(defects, since=since)
    assert alerts.record(defects, incremental).opened == 1  # call 99, found meanwhile
    alerts.record(defects, full)
    ((open_99,),) = query(
        defects,
        "SELECT count(*) FROM data_consistency_alerts WHERE entity_id = 99 AND resolved_at IS NULL",
    )
    assert open_99 == 1


def test_a_run_whose_backend_is_killed_is_closed_as_failed(defects: str) -> None:
    with psycopg.connect(defects) as blocker:
        blocker.execute("LOCK TABLE calls IN ACCESS EXCLUSIVE MODE")
        failure: list[BaseException] = []

        def run() -> None:
            try:
                detection.detect(defects, full=True, workers=1)
            except BaseException as exc:
                failure.append(exc)

        worker = threading.Thread(target=run)
        worker.start()
        pid = None
        for _ in range(100):
            rows = query(
                defects,
                "SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                " AND datname = current_database()",
            )
            if rows:
                pid = rows[0][0]
                break
            time.sleep(0.1)
        assert pid is not None
        query(defects, "SELECT pg_terminate_backend(%s)", (pid,))
        worker.join(30)
    assert failure and isinstance(failure[0], BookingGuardError | psycopg.Error)
    assert query(defects, "SELECT status FROM bg_check_runs") == [("failed",)]


def test_stale_running_runs_are_reaped(defects: str) -> None:
    query(
        defects,
        "INSERT INTO bg_check_runs (mode, started_at) VALUES ('full', now() - interval '2 hours')",
    )
    detection.detect(defects, full=True)
    statuses = query(defects, "SELECT status FROM bg_check_runs ORDER BY id")
    assert statuses == [("failed",), ("running",)]
