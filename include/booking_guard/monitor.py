"""The consistency monitor's pipeline: detect → validate (GX) → record alerts → notify.

The DAG runs these steps as separate tasks; ``run_check`` chains them for the CLI and the tests.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from datetime import datetime

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

    @property
    def exit_code(self) -> int:
        found = [r for r in self.rules if r.count]
        if any(r.severity == "critical" for r in found):
            return EXIT_CRITICAL
        return EXIT_FINDINGS if found else EXIT_CLEAN

    def as_dict(self) -> dict:
        data = asdict(self)
        data["window_start"] = self.window_start.isoformat() if self.window_start else None
        data["exit_code"] = self.exit_code
        return data


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


def run_check(
    settings: Settings,
    *,
    full: bool = False,
    since: datetime | None = None,
    notify: bool = True,
    build_docs: bool = True,
) -> CheckReport:
    """One monitor run end to end. A notification failure never fails the run."""
    url = settings.database_url
    run = rules.detect(url, full=full, since=since)
    try:
        validation = expectations.validate(url, run, build_docs=build_docs)
        changes = alerts.record(url, run)
        summary = summarize(url, run)
    except BaseException:
        rules.finish_run(url, run, succeeded=False, summary={})
        raise
    report = CheckReport(
        run_id=run.run_id,
        mode=run.mode,
        window_start=run.window_start,
        rules=summary,
        alerts=changes,
        gx_success=validation.success,
        data_docs=str(validation.data_docs_index) if validation.data_docs_index else None,
    )
    rules.finish_run(url, run, succeeded=True, summary={r.rule_id: r.count for r in summary})
    if notify:
        try:
            report.notifications = notifications.notify(url, settings)
        except Exception as exc:
            log.warning("notifications failed, alerts kept for the next run: %s", exc)
            report.errors.append(f"notify: {exc}")
    return report
