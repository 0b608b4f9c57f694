"""Alerts in ``data_consistency_alerts``: opened, seen again, resolved — set-wise, in SQL."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from psycopg.sql import SQL

from booking_guard.db import connect, load_sql
from booking_guard.detection import DetectionRun, create_window_scope, run_started_at
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
    """Write the run's findings as alerts and resolve what it no longer finds, in one transaction.

    A full scan resolves everywhere; an incremental run resolves the alerts of the entities in
    its window (recomputed up to the run's start: an entity changed since then was not looked
    at), so an alert closes within one run of the data being fixed.
    """
    with connect(url) as conn:
        row = conn.execute(
            load_sql("alerts/record.sql"), {"rules": REGISTRY_JSON, "run_id": run.run_id}
        ).fetchone()
        opened, seen_again = row if row else (0, 0)
        in_scope = SQL("TRUE")
        if run.mode == "incremental":
            create_window_scope(conn, run.window_start, run_started_at(conn, run.run_id))
            in_scope = SQL(load_sql("alerts/_in_window.sql").strip())
        resolved = conn.execute(
            SQL(load_sql("alerts/resolve.sql")).format(in_scope=in_scope),
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
