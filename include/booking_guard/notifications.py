"""Notify on-call people about open alerts: grouped, throttled, masked, never lost.

One message per (rule, company) at most every cooldown (5 minutes by default, ``throttle``),
sent to every enabled channel (``channels``). Alerts keep ``notified_at`` NULL until a message
covering them was delivered, so a failed send is retried by the next run.

Groups are sent a few at a time, and the whole step has a deadline: a hung Slack costs one
deadline, not ten seconds per group. A send still running at the deadline may or may not have
been delivered; its group keeps its cooldown instead of being retried at once, so a slow Slack
sees at most one repeat per cooldown, and every message carries a reference (``ref …``) that
stays the same when the same alerts are sent again.
"""

from __future__ import annotations

import hashlib
import logging
import time
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from booking_guard.channels import Channel, enabled_channels
from booking_guard.db import connect
from booking_guard.errors import BookingGuardError
from booking_guard.privacy import mask
from booking_guard.resources import load_sql
from booking_guard.rules import RULES_BY_ID
from booking_guard.settings import Settings
from booking_guard.severity import Severity
from booking_guard.templates import render
from booking_guard.throttle import Throttle

log = logging.getLogger(__name__)

SEND_CONCURRENCY = 4

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
    def ref(self) -> str:
        """The same for the same alerts: a repeated message is recognisable as one."""
        key = f"{self.alert_type}:{self.company_id}:{self.max_id}".encode()
        return hashlib.sha256(key).hexdigest()[:10]

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
                ref=self.ref,
            )
        )


@dataclass
class NotifyReport:
    sent: list[str] = field(default_factory=list)
    throttled: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    timed_out: list[str] = field(default_factory=list)
    alerts_notified: int = 0
    throttle_backend: str = "redis"
    channels: list[str] = field(default_factory=list)
    unavailable: list[str] = field(default_factory=list)
    pending: int = 0
    oldest_pending: datetime | None = None


class UndeliveredAlerts(BookingGuardError):
    """Alerts have waited for a notification longer than the configured limit."""


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
    """Send one message per pending (rule, company) group that is not in its cooldown.

    A channel whose connection is missing is named once and skipped; the report ends with what
    is still pending and since when.
    """
    channels = enabled_channels(settings)
    report = NotifyReport(channels=[c.name for c in channels])
    ready: list[Channel] = []
    for channel in channels:
        problem = channel.problem()
        if problem:
            log.warning("%s: not sending, alerts stay pending: %s", channel.name, problem)
            report.unavailable.append(problem)
        else:
            ready.append(channel)
    severities = [str(s) for s in settings.notify_severities]
    with connect(settings.database_url, autocommit=True) as conn:
        if ready:
            _send_pending(conn, settings, ready, severities, report)
        row = conn.execute(load_sql("alerts/pending_age.sql"), {"severities": severities})
        report.pending, report.oldest_pending = row.fetchone() or (0, None)
    if not channels:
        log.info("no notification channel enabled; alerts stay pending")
    return report


def _send_pending(
    conn: Any,
    settings: Settings,
    channels: list[Channel],
    severities: list[str],
    report: NotifyReport,
) -> None:
    rows = conn.execute(
        load_sql("alerts/pending_notifications.sql"), {"severities": severities}
    ).fetchall()
    throttle = Throttle(settings, conn)
    claimed: list[Group] = []
    for group in pending_groups(rows):
        if throttle.claim(group.throttle_key):
            claimed.append(group)
        else:
            report.throttled.append(group.throttle_key)
    deadline = time.monotonic() + settings.notify_deadline_seconds
    pool = ThreadPoolExecutor(max_workers=SEND_CONCURRENCY, thread_name_prefix="notify")
    sends: dict[Future[None], Group] = {pool.submit(_deliver, channels, g): g for g in claimed}
    done, late = wait(sends, timeout=max(0.0, deadline - time.monotonic()))
    pool.shutdown(wait=False, cancel_futures=True)
    for future in late:
        group = sends[future]
        if future.cancel():  # never started: nothing went out, retry next run
            throttle.release(group.throttle_key)
            report.failed.append(group.throttle_key)
        else:  # in flight: maybe delivered; keep the cooldown rather than resend at once
            report.timed_out.append(group.throttle_key)
    if late:
        log.warning(
            "notification deadline (%s s) passed with %s group(s) unsent; they stay pending",
            settings.notify_deadline_seconds,
            len(late),
        )
    for future in done:
        group = sends[future]
        if (error := future.exception()) is not None:
            log.warning("notification for %s not sent, will retry: %s", group.throttle_key, error)
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


@dataclass
class ChannelBacklog:
    """What waits for one channel: delivery health for ``booking-guard status``."""

    channel: str
    pending: int
    oldest_minutes: float | None
    problem: str | None


def pending_delivery(settings: Settings) -> list[ChannelBacklog]:
    """Per enabled channel: alerts waiting for a notification, the oldest one's age, and what
    stops delivery. An alert is notified once, to every enabled channel, so the count is shared."""
    severities = [str(s) for s in settings.notify_severities]
    with connect(settings.database_url) as conn:
        row = conn.execute(load_sql("alerts/pending_age.sql"), {"severities": severities})
        pending, oldest = row.fetchone() or (0, None)
    minutes = (
        None if oldest is None else (datetime.now(oldest.tzinfo) - oldest).total_seconds() / 60
    )
    return [
        ChannelBacklog(channel.name, pending, minutes, channel.problem())
        for channel in enabled_channels(settings)
    ]


def require_delivered(settings: Settings, report: NotifyReport) -> None:
    """Raise when alerts have waited longer than ``DATA_CONSISTENCY_ALERT_MAX_PENDING_MINUTES``,
    so the DAG's notify task turns red after everything else was recorded."""
    if report.oldest_pending is None:
        return
    waited = (datetime.now(report.oldest_pending.tzinfo) - report.oldest_pending).total_seconds()
    if waited > settings.max_pending_minutes * 60:
        why = "; ".join(report.unavailable) or "sends failed or were throttled"
        raise UndeliveredAlerts(
            f"{report.pending} alert(s) not notified, the oldest for {waited / 60:.0f} min"
            f" (limit DATA_CONSISTENCY_ALERT_MAX_PENDING_MINUTES={settings.max_pending_minutes}):"
            f" {why}"
        )


def _deliver(channels: list[Channel], group: Group) -> None:
    text = group.text()
    for channel in channels:
        channel.send(group.subject, text)
