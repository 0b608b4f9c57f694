"""The consistency monitor's pipeline: detect → validate (GX) → record alerts → notify.

The DAG runs these steps as its tasks; ``run_check`` chains them for the CLI and the tests.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta

from booking_guard import alerts, expectations, notifications, rules
from booking_guard.db import connect
from booking_guard.settings import Settings

log = logging.getLogger(__name__)

EXIT_CLEAN, EXIT_FINDINGS, EXIT_CRITICAL = 0, 1, 2
SAMPLE_IDS = 5


@dataclass
class RuleSummary:
    rule_id: str
    severity: str
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
    gx_success: bool | None
    data_docs: str | None
    notifications: notifications.NotifyReport | None = None
    errors: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def exit_code(self) -> int:
        return exit_code([r.severity for r in self.rules if r.count])

    def as_dict(self) -> dict:
        data = asdict(self)
        data["window_start"] = self.window_start.isoformat() if self.window_start else None
        data["exit_code"] = self.exit_code
        return data


def exit_code(severities: list[str]) -> int:
    """The exit status of a check over findings of these severities: 0 none, 1 warning or info
    only, 2 any critical."""
    if "critical" in severities:
        return EXIT_CRITICAL
    return EXIT_FINDINGS if severities else EXIT_CLEAN


def summarize(url: str, run: rules.DetectionRun) -> list[RuleSummary]:
    """Per rule of the run: count and the first few entity ids."""
    with connect(url) as conn:
        samples = dict(
            conn.execute(
                "SELECT rule_id, (array_agg(entity_id ORDER BY entity_id))[1:%s]"
                " FROM bg_rule_findings WHERE run_id = %s GROUP BY rule_id",
                (SAMPLE_IDS, run.run_id),
            ).fetchall()
        )
    return [
        RuleSummary(
            rule_id=rule_id,
            severity=rules.RULES_BY_ID[rule_id].severity,
            count=count,
            sample_ids=samples.get(rule_id, []),
            seconds=run.seconds[rule_id],
        )
        for rule_id, count in run.counts.items()
    ]


def step_detect(
    settings: Settings,
    *,
    full: bool = False,
    since: datetime | None = None,
    interval: tuple[datetime, datetime] | None = None,
) -> dict:
    """Run the rules into the findings table (DAG task ``detect``).

    With a data ``interval`` (the scheduled DAG), the window is the interval minus the overlap,
    reaching back to the last successful run, and the run whose interval holds the daily
    full-scan time (``BOOKING_GUARD_FULL_SCAN_AT``) scans everything.
    """
    if interval is not None:
        start, end = interval
        full = full or full_scan_due(settings, start, end)
        since = start - rules.WINDOW_OVERLAP
    return rules.detect(
        settings.database_url, full=full, since=since, catch_up=interval is not None
    ).to_dict()


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


def step_detect_and_validate(
    settings: Settings, *, full: bool = False, interval: tuple[datetime, datetime] | None = None
) -> dict:
    """Detection, then GX validation, in one process (DAG task ``detect``): the GX import
    (about 3 s of CPU) runs in the background while the rules' SQL runs in the database."""
    importing = expectations.prewarm()
    run = step_detect(settings, full=full, interval=interval)
    importing.join()
    return {**run, "validation": step_validate(settings, run)}


def step_validate(settings: Settings, run: dict, *, build_docs: bool = True) -> dict:
    """Validate the run's findings with the GX suites, build Data Docs."""
    try:
        result = expectations.validate(
            settings.database_url, rules.DetectionRun.from_dict(run), build_docs=build_docs
        )
    except BaseException:
        rules.finish_run(settings.database_url, rules.DetectionRun.from_dict(run), succeeded=False)
        raise
    return {
        "success": result.success,
        "data_docs": str(result.data_docs_index) if result.data_docs_index else None,
        "failed_rules": [r.rule_id for r in result.results if not r.success],
    }


def step_record(settings: Settings, run: dict) -> dict:
    """Write alerts and close the run as succeeded (DAG task ``record_alerts``)."""
    detection = rules.DetectionRun.from_dict(run)
    try:
        changes = alerts.record(settings.database_url, detection)
    except BaseException:
        rules.finish_run(settings.database_url, detection, succeeded=False)
        raise
    rules.finish_run(settings.database_url, detection, succeeded=True)
    return asdict(changes)


def step_notify(settings: Settings) -> dict:
    """Send the pending, unthrottled notifications (DAG task ``notify``); never raises for a
    channel that is down, the alerts stay pending instead."""
    return asdict(notifications.notify(settings.database_url, settings))


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

    importing = expectations.prewarm()
    run = step_detect(settings, full=full, since=since)
    lap("detect")
    importing.join()
    lap("gx_import_wait")
    with ThreadPoolExecutor(max_workers=2) as pool:
        validating = pool.submit(step_validate, settings, run, build_docs=build_docs)
        recording = pool.submit(step_record, settings, run)
        validation, changes = validating.result(), recording.result()
    lap("validate_and_record")
    detection = rules.DetectionRun.from_dict(run)
    report = CheckReport(
        run_id=detection.run_id,
        mode=detection.mode,
        window_start=detection.window_start,
        rules=summarize(settings.database_url, detection),
        alerts=alerts.AlertChanges(**changes),
        gx_success=validation["success"],
        data_docs=validation["data_docs"],
        seconds=seconds,
    )
    lap("summarize")
    if notify:
        try:
            report.notifications = notifications.notify(settings.database_url, settings)
        except Exception as exc:
            log.warning("notifications failed, alerts kept for the next run: %s", exc)
            report.errors.append(f"notify: {exc}")
        lap("notify")
    return report
