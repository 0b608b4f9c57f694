"""Notify on-call people about open alerts: grouped, throttled, masked, never lost.

One message per (rule, company) at most every cooldown (5 minutes by default, ``throttle``),
sent to every enabled channel (``channels``). Alerts keep ``notified_at`` NULL until a message
covering them was delivered, so a failed send is retried by the next run.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from booking_guard.channels import Channel, enabled_channels
from booking_guard.db import connect, load_sql
from booking_guard.privacy import mask
from booking_guard.rules import RULES_BY_ID
from booking_guard.settings import Settings
from booking_guard.severity import Severity
from booking_guard.templates import render
from booking_guard.throttle import Throttle

log = logging.getLogger(__name__)

SEVERITY_ICON = {
    Severity.CRITICAL: ":red_circle:",
    Severity.WARNING: ":large_orange_circle:",
    Severity.INFO: ":information_source:",
}


@dataclass
class Group:
    """The pending alerts of one (rule, company): one message."""

    alert_type: str
    company_id: int | None
    severity: Severity
    alerts: int
    sample: list[str]
    max_id: int

    @property
    def throttle_key(self) -> str:
        return f"notify:{self.alert_type}:{self.company_id or 'none'}"

    @property
    def subject(self) -> str:
        return f"booking-guard: {self.alert_type} ({self.severity})"

    def text(self) -> str:
        rule = RULES_BY_ID.get(self.alert_type)
        return mask(
            render(
                "alert_group.txt",
                icon=SEVERITY_ICON[self.severity],
                severity=self.severity,
                alert_type=self.alert_type,
                company_id=self.company_id,
                alerts=self.alerts,
                plural="s" if self.alerts != 1 else "",
                examples=", ".join(self.sample) + (", …" if self.alerts > len(self.sample) else ""),
                description=rule.description if rule else self.alert_type,
            )
        )


@dataclass
class NotifyReport:
    sent: list[str] = field(default_factory=list)
    throttled: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    alerts_notified: int = 0
    throttle_backend: str = "redis"
    channels: list[str] = field(default_factory=list)


def pending_groups(rows: list[tuple[Any, ...]]) -> list[Group]:
    """Groups from ``pending_notifications.sql``, most severe first."""
    groups = [
        Group(
            alert_type,
            company_id,
            Severity.worst(map(Severity, severities)) or Severity.INFO,
            alerts,
            list(sample),
            max_id,
        )
        for alert_type, company_id, severities, alerts, sample, max_id in rows
    ]
    return sorted(groups, key=lambda g: (g.severity.rank, g.alert_type, g.company_id or 0))


def notify(settings: Settings) -> NotifyReport:
    """Send one message per pending (rule, company) group that is not in its cooldown."""
    channels = enabled_channels(settings)
    report = NotifyReport(channels=[c.name for c in channels])
    if not channels:
        log.info("no notification channel enabled; alerts stay pending")
        return report
    severities = [str(s) for s in settings.notify_severities]
    with connect(settings.database_url, autocommit=True) as conn:
        rows = conn.execute(
            load_sql("alerts/pending_notifications.sql"), {"severities": severities}
        ).fetchall()
        throttle = Throttle(settings, conn)
        for group in pending_groups(rows):
            if not throttle.claim(group.throttle_key):
                report.throttled.append(group.throttle_key)
                continue
            try:
                _deliver(channels, group)
            except Exception as exc:  # any channel failure: keep the alerts for the next run
                log.warning("notification for %s not sent, will retry: %s", group.throttle_key, exc)
                throttle.release(group.throttle_key)
                report.failed.append(group.throttle_key)
                continue
            report.alerts_notified += conn.execute(
                load_sql("alerts/mark_notified.sql"),
                {
                    "alert_type": group.alert_type,
                    "company_id": group.company_id,
                    "severities": severities,
                    "max_id": group.max_id,
                },
            ).rowcount
            report.sent.append(group.throttle_key)
        report.throttle_backend = throttle.backend
    return report


def _deliver(channels: list[Channel], group: Group) -> None:
    text = group.text()
    for channel in channels:
        channel.send(group.subject, text)
