"""Notify on-call people about open alerts: grouped, throttled, masked, never lost.

One message per (rule, company) at most every cooldown (5 minutes by default). The throttle is an
atomic set-if-absent with expiry in Redis (a fast shared pre-check) and in PostgreSQL (the
authority, which also holds when Redis is down). Alerts keep ``notified_at`` NULL until a message
covering them was delivered, so a failed send is retried by the next run.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from booking_guard.db import connect, database_name, load_sql
from booking_guard.rules import RULES_BY_ID
from booking_guard.settings import SEVERITIES, Settings

log = logging.getLogger(__name__)

REDIS_TIMEOUT_SECONDS = 0.5
SEVERITY_ICON = {
    "critical": ":red_circle:",
    "warning": ":large_orange_circle:",
    "info": ":information_source:",
}

# Phone numbers (international or national prefix, 7+ digits) and e-mail addresses.
_PHONE = re.compile(r"(?<![\w])(?:\+|00|0)\d[\d \-/().]{5,}\d")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")


def mask(text: str) -> str:
    """Remove what could identify a person; messages carry ids and counts only, this is the net."""
    return _EMAIL.sub("[email]", _PHONE.sub("[phone]", text))


@dataclass
class Group:
    alert_type: str
    company_id: int | None
    severity: str
    alerts: int
    sample: list[str]
    max_id: int

    @property
    def throttle_key(self) -> str:
        return f"notify:{self.alert_type}:{self.company_id or 'none'}"

    def text(self) -> str:
        rule = RULES_BY_ID.get(self.alert_type)
        what = rule.description if rule else self.alert_type
        examples = ", ".join(self.sample) + (", …" if self.alerts > len(self.sample) else "")
        return mask(
            f"{SEVERITY_ICON[self.severity]} [{self.severity}] {self.alert_type} — company"
            f" {self.company_id}: {self.alerts} open alert{'s' if self.alerts != 1 else ''}"
            f" ({examples}). {what}"
        )


@dataclass
class NotifyReport:
    sent: list[str] = field(default_factory=list)
    throttled: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    alerts_notified: int = 0
    throttle_backend: str = "redis"
    channels: list[str] = field(default_factory=list)


class Throttle:
    """Set-if-absent with expiry, in Redis and PostgreSQL; PostgreSQL decides."""

    def __init__(self, settings: Settings, conn) -> None:
        # Redis may be shared by several monitored databases: keys carry the database's name.
        self.prefix = f"booking_guard:{database_name(settings.database_url)}:"
        self.seconds = settings.alert_cooldown_seconds
        self.conn = conn
        self.redis = redis.Redis.from_url(
            settings.redis_url,
            socket_timeout=REDIS_TIMEOUT_SECONDS,
            socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
            retry=Retry(NoBackoff(), 0),
        )
        self.redis_ok = True

    def claim(self, key: str) -> bool:
        if self.redis_ok:
            try:
                if not self.redis.set(self.prefix + key, "1", nx=True, ex=self.seconds):
                    return False
            except redis.RedisError as exc:
                log.warning("redis unavailable for throttling, using PostgreSQL: %s", exc)
                self.redis_ok = False
        row = self.conn.execute(
            load_sql("alerts/claim_throttle.sql"), {"key": key, "seconds": self.seconds}
        ).fetchone()
        return row is not None

    def release(self, key: str) -> None:
        """Give the slot back after a failed send, so the next run retries at once."""
        self.conn.execute("DELETE FROM bg_notification_throttle WHERE throttle_key = %s", (key,))
        if self.redis_ok:
            try:
                self.redis.delete(self.prefix + key)
            except redis.RedisError:
                self.redis_ok = False


def notify(url: str, settings: Settings) -> NotifyReport:
    """Send one message per pending (rule, company) group that is not in its cooldown."""
    report = NotifyReport(
        channels=[
            name
            for name, on in (("slack", settings.slack_enabled), ("email", settings.email_enabled))
            if on
        ]
    )
    if not report.channels:
        log.info("no notification channel enabled; alerts stay pending")
        return report
    severities = settings.notify_severities
    with connect(url, autocommit=True) as conn:
        rows = conn.execute(
            load_sql("alerts/pending_notifications.sql"), {"severities": severities}
        ).fetchall()
        throttle = Throttle(settings, conn)
        for alert_type, company_id, rank, alerts, sample, max_id in rows:
            group = Group(alert_type, company_id, SEVERITIES[rank], alerts, list(sample), max_id)
            if not throttle.claim(group.throttle_key):
                report.throttled.append(group.throttle_key)
                continue
            try:
                _deliver(settings, group)
            except Exception as exc:  # any channel failure: keep the alerts for the next run
                log.warning("notification for %s not sent, will retry: %s", group.throttle_key, exc)
                throttle.release(group.throttle_key)
                report.failed.append(group.throttle_key)
                continue
            report.alerts_notified += conn.execute(
                load_sql("alerts/mark_notified.sql"),
                {
                    "alert_type": alert_type,
                    "company_id": company_id,
                    "severities": severities,
                    "max_id": max_id,
                },
            ).rowcount
            report.sent.append(group.throttle_key)
        report.throttle_backend = "redis" if throttle.redis_ok else "postgresql"
    return report


def _deliver(settings: Settings, group: Group) -> None:
    text = group.text()
    if settings.slack_enabled:
        send_slack(settings.slack_conn_id, text)
    if settings.email_enabled:
        send_email(settings, f"booking-guard: {group.alert_type} ({group.severity})", text)


def send_slack(conn_id: str, text: str) -> None:
    """Post through the Airflow Slack provider's incoming-webhook hook."""
    from airflow.providers.slack.hooks.slack_webhook import SlackWebhookHook

    SlackWebhookHook(slack_webhook_conn_id=conn_id, timeout=10).send(text=text)


def send_email(settings: Settings, subject: str, text: str) -> None:
    """Send through the Airflow SMTP provider's hook."""
    from airflow.providers.smtp.hooks.smtp import SmtpHook

    with SmtpHook(smtp_conn_id=settings.smtp_conn_id) as hook:
        hook.send_email_smtp(
            to=list(settings.email_to), subject=subject, html_content=f"<p>{text}</p>"
        )
