"""Alerts in ``data_consistency_alerts``: opened, seen again, resolved — set-wise, in SQL."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from booking_guard.db import connect, load_sql
from booking_guard.detection import DetectionRun
from booking_guard.rules import RULES
from booking_guard.severity import Severity

REGISTRY_JSON = json.dumps(
    [{"rule_id": r.id, "severity": str(r.severity), "description": r.description} for r in RULES]
)


@dataclass
class AlertChanges:
    opened: int
    seen_again: int
    resolved: int


@dataclass
class OpenAlerts:
    """Open alerts of one rule and severity: what an on-call person looks at first."""

    alert_type: str
    severity: Severity
    open_alerts: int
    not_notified: int
    companies: int
    oldest: datetime


def record(url: str, run: DetectionRun) -> AlertChanges:
    """Write the run's findings as alerts in one transaction; a full scan also resolves."""
    with connect(url) as conn:
        row = conn.execute(
            load_sql("alerts/record.sql"), {"rules": REGISTRY_JSON, "run_id": run.run_id}
        ).fetchone()
        opened, seen_again = row if row else (0, 0)
        resolved = 0
        if run.mode == "full":
            resolved = conn.execute(
                load_sql("alerts/resolve.sql"),
                {"run_id": run.run_id, "rule_ids": list(run.counts)},
            ).rowcount
    return AlertChanges(opened=opened, seen_again=seen_again, resolved=resolved)


def open_summary(url: str) -> list[OpenAlerts]:
    """Open alerts per rule and severity, most severe first."""
    with connect(url) as conn:
        rows = conn.execute(load_sql("alerts/open_summary.sql")).fetchall()
    summary = [
        OpenAlerts(alert_type, Severity(severity), *counts)
        for alert_type, severity, *counts in rows
    ]
    return sorted(summary, key=lambda a: (a.severity.rank, a.alert_type))
