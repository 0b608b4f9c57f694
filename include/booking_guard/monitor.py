"""The consistency monitor's pipeline: detect → record alerts → notify, and validate (GX) beside.

The alert path never imports Great Expectations (about 3 s of CPU per process): the DAG runs
validation and Data Docs as their own branch. ``run_check`` chains the same steps for the CLI,
overlapping the GX import with detection. Every step takes and returns typed objects.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from booking_guard import alerts, detection, expectations, notifications
from booking_guard.detection import DetectionRun
from booking_guard.rules import RULES_BY_ID
from booking_guard.settings import Settings
from booking_guard.severity import Severity

log = logging.getLogger(__name__)

SAMPLE_IDS = 5


@dataclass
class RuleSummary:
    rule_id: str
    severity: Severity
    count: int
    sample_ids: list[int]
    seconds: float


@dataclass
class CheckReport:
    run_id: int
    mode: str
    window_start: datetime | None
    rules: list[RuleSummary]
    alerts: alerts.AlertChanges
    validation: expectations.ValidationSummary
    notifications: notifications.NotifyReport | None = None
    errors: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def worst_severity(self) -> Severity | None:
        """The most severe finding's severity; None for a clean run."""
        return Severity.worst(r.severity for r in self.rules if r.count)


def summarize(url: str, run: DetectionRun) -> list[RuleSummary]:
    """Per rule of the run: count and the first few entity ids."""
    samples = detection.samples(url, run.run_id, SAMPLE_IDS)
    return [
        RuleSummary(
            rule_id=rule_id,
            severity=RULES_BY_ID[rule_id].severity,
            count=count,
            sample_ids=samples.get(rule_id, []),
            seconds=run.seconds[rule_id],
        )
        for rule_id, count in run.counts.items()
    ]


def detect(
    settings: Settings,
    *,
    full: bool = False,
    since: datetime | None = None,
    interval: tuple[datetime, datetime] | None = None,
) -> DetectionRun:
    """Run the rules into the findings table (DAG task ``detect``).

    With a data ``interval`` (a scheduled run), the window is the interval minus the overlap,
    reaching back to the last successful run, and the run whose interval holds the daily
    full-scan time (``BOOKING_GUARD_FULL_SCAN_AT``) scans everything. Without one (a manual
    trigger), the window reaches back to the last successful run.
    """
    catch_up = interval is not None
    if interval is not None:
        start, end = interval
        full = full or full_scan_due(settings, start, end)
        since = start - detection.WINDOW_OVERLAP
    return detection.detect(
        settings.database_url,
        full=full,
        since=since,
        catch_up=catch_up,
        workers=settings.rule_workers,
    )


def full_scan_due(settings: Settings, start: datetime, end: datetime) -> bool:
    """Whether the daily full-scan time (UTC) falls in ``(start, end]``."""
    if settings.full_scan_at is None:
        return False
    end = end.astimezone(UTC)
    at = end.replace(
        hour=settings.full_scan_at.hour,
        minute=settings.full_scan_at.minute,
        second=0,
        microsecond=0,
    )
    if at > end:
        at -= timedelta(days=1)
    return start.astimezone(UTC) < at <= end


def validate(
    settings: Settings, run: DetectionRun, *, build_docs: bool = True
) -> expectations.ValidationSummary:
    """Validate the run's findings with the GX suite, build Data Docs."""
    with detection.failing_run(settings.database_url, run):
        return expectations.validate(settings.database_url, run, build_docs=build_docs)


def record(settings: Settings, run: DetectionRun) -> alerts.AlertChanges:
    """Write alerts and close the run as succeeded (DAG task ``record_alerts``)."""
    with detection.failing_run(settings.database_url, run):
        changes = alerts.record(settings.database_url, run)
    detection.finish_run(settings.database_url, run, succeeded=True)
    return changes


def notify(settings: Settings) -> notifications.NotifyReport:
    """Send the pending, unthrottled notifications (DAG task ``notify``). A channel that is down
    keeps the alerts pending; alerts pending longer than the limit fail the step, after
    everything was sent and recorded, so the run turns red and the failure callback fires."""
    report = notifications.notify(settings)
    notifications.require_delivered(settings, report)
    return report


def run_check(
    settings: Settings,
    *,
    full: bool = False,
    since: datetime | None = None,
    notify: bool = True,
    build_docs: bool = True,
) -> CheckReport:
    """One monitor run end to end, the same steps as the DAG. Notifications never fail it.

    The GX import overlaps with detection, and validation with alert writing: all of them wait
    on PostgreSQL or on their own CPU, not on each other.
    """
    clock = time.perf_counter()
    seconds: dict[str, float] = {}

    def lap(stage: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        seconds[stage] = round(now - clock, 3)
        clock = now

    detection.ensure_ready(settings.database_url)
    importing = expectations.prewarm()
    run = detect(settings, full=full, since=since)
    lap("detect")
    importing.join()
    lap("gx_import_wait")
    with ThreadPoolExecutor(max_workers=2) as pool:
        validating = pool.submit(validate, settings, run, build_docs=build_docs)
        recording = pool.submit(record, settings, run)
        validation, changes = validating.result(), recording.result()
    lap("validate_and_record")
    report = CheckReport(
        run_id=run.run_id,
        mode=run.mode,
        window_start=run.window_start,
        rules=summarize(settings.database_url, run),
        alerts=changes,
        validation=validation,
        seconds=seconds,
    )
    lap("summarize")
    if notify:
        try:
            report.notifications = notifications.notify(settings)
            notifications.require_delivered(settings, report.notifications)
        except Exception as exc:
            log.warning("notifications: %s", exc)
            report.errors.append(f"notify: {exc}")
        lap("notify")
    return report
