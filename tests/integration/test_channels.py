"""The other channels, against real local servers: e-mail over SMTP, the DAG failure callback."""

from __future__ import annotations

import email
import json
import socket
import threading
import warnings
from dataclasses import replace
from types import SimpleNamespace

import pytest

from booking_guard import alerts, detection
from booking_guard.airflow.notifier import slack_failure_notifier
from booking_guard.notifications import notify
from booking_guard.settings import Settings
from tests.helpers import plant, query

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import asyncore
    import smtpd


class SmtpStandIn(smtpd.SMTPServer):
    """A real SMTP server on 127.0.0.1 that keeps what it receives."""

    def __init__(self) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        super().__init__(("127.0.0.1", self.port), None, decode_data=False)
        self.messages: list[email.message.Message] = []
        self.thread = threading.Thread(target=asyncore.loop, kwargs={"timeout": 0.05}, daemon=True)
        self.thread.start()

    def process_message(self, peer, mailfrom, rcpttos, data, **kwargs):
        message = email.message_from_bytes(data)
        message["X-Rcpt"] = ",".join(rcpttos)
        self.messages.append(message)


@pytest.fixture
def smtp(monkeypatch: pytest.MonkeyPatch):
    server = SmtpStandIn()
    monkeypatch.setenv(
        "AIRFLOW_CONN_SMTP_DEFAULT",
        json.dumps(
            {
                "conn_type": "smtp",
                "host": "127.0.0.1",
                "port": server.port,
                "extra": {
                    "disable_tls": True,
                    "disable_ssl": True,
                    "from_email": "booking-guard@example.org",
                    "timeout": 5,
                    "retry_limit": 1,
                },
            }
        ),
    )
    yield server
    server.close()


def test_email_is_sent_grouped_and_without_personal_data(migrated_db: str, smtp) -> None:
    query(migrated_db, "INSERT INTO companies (id, name) VALUES (1, 'a')")
    plant(
        migrated_db,
        "INSERT INTO calls (id, company_id, from_number, customer_name, direction)"
        " VALUES (1, 1, '+49 170 1234567', 'Anna Müller', NULL),"
        " (2, 1, '+49 170 7654321', 'Ben Schmidt', NULL)",
    )
    alerts.record(migrated_db, detection.detect(migrated_db, full=True))
    settings = replace(
        Settings(database_url=migrated_db, redis_url="redis://127.0.0.1:6379/0"),
        slack_enabled=False,
        email_enabled=True,
        email_to=("oncall@example.org",),
    )
    report = notify(settings)
    assert report.sent == ["notify:missing_direction:1"] and report.channels == ["email"]
    (message,) = smtp.messages
    assert message["X-Rcpt"] == "oncall@example.org"
    assert "missing_direction" in message["Subject"]
    body = "".join(
        part.get_payload(decode=True).decode() for part in message.walk() if not part.is_multipart()
    )
    assert "2 open alerts" in body and "call 1" in body
    for secret in ("1234567", "7654321", "Anna", "Schmidt"):
        assert secret not in body


def test_failure_callback_posts_names_and_ids_only(slack) -> None:
    ti = SimpleNamespace(task_id="detect", dag_id="consistency_monitor", log_url="http://x/log")
    slack_failure_notifier({"ti": ti, "run_id": "scheduled__2026", "exception": "+49 170 1234567"})
    (text,) = slack.texts
    assert "`detect`" in text and "`consistency_monitor`" in text and "scheduled__2026" in text
    assert "1234567" not in text


def test_failure_callback_never_raises(monkeypatch) -> None:
    monkeypatch.setenv("BOOKING_GUARD_SLACK_CONN_ID", "no_such_connection")
    slack_failure_notifier({"dag_run": SimpleNamespace(dag_id="d"), "run_id": "r"})
