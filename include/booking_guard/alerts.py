"""Alerts in ``data_consistency_alerts``: opened, seen again, resolved — set-wise, in SQL."""

from __future__ import annotations

import json
from dataclasses import dataclass

from booking_guard.db import connect, load_sql
from booking_guard.rules import RULES, DetectionRun

REGISTRY_JSON = json.dumps(
    [{"rule_id": r.id, "severity": r.severity, "description": r.description} for r in RULES]
)


@dataclass
class AlertChanges:
    opened: int
    seen_again: int
    resolved: int


def record(url: str, run: DetectionRun) -> AlertChanges:
    """Write the run's findings as alerts in one transaction; a full scan also resolves."""
    with connect(url) as conn:
        opened, seen_again = conn.execute(
            load_sql("alerts/record.sql"), {"rules": REGISTRY_JSON, "run_id": run.run_id}
        ).fetchone()
        resolved = 0
        if run.mode == "full":
            resolved = conn.execute(
                load_sql("alerts/resolve.sql"),
                {"run_id": run.run_id, "rule_ids": list(run.counts)},
            ).rowcount
    return AlertChanges(opened=opened, seen_again=seen_again, resolved=resolved)


def open_summary(url: str) -> list[dict]:
    """Open alerts per rule and severity: what an on-call person looks at first."""
    with connect(url) as conn:
        cursor = conn.execute(load_sql("alerts/open_summary.sql"))
        names = [c.name for c in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor]
