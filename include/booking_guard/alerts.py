"""Alerts in ``data_consistency_alerts``: opened, seen again, resolved — set-wise, in SQL."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from psycopg.sql import SQL

from booking_guard.db import connect
from booking_guard.detection import (
    DetectionRun,
    create_event_scope,
    create_window_scope,
    run_started_at,
)
from booking_guard.resources import load_sql
from booking_guard.rules import RULES
from booking_guard.severity import Severity

REGISTRY_JSON = json.dumps(
    [{"rule_id": r.id, "severity": str(r.severity), "description": r.description} for r in RULES]
)


@dataclass
class RuleChanges:
    opened: int = 0
    seen_again: int = 0
    resolved: int = 0


@dataclass
class AlertChanges:
    """What recording a run did to the alerts, in total and per rule."""

    opened: int
    seen_again: int
    resolved: int
    by_rule: dict[str, RuleChanges]


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
    at), so an alert closes within one run of the data being fixed; an event run those of the
    entities it looked at (its stored scope).
    """
    by_rule = {rule_id: RuleChanges() for rule_id in run.counts}
    with connect(url) as conn:
        recorded = conn.execute(
            load_sql("alerts/record.sql"), {"rules": REGISTRY_JSON, "run_id": run.run_id}
        )
        for rule_id, opened, seen_again in recorded:
            by_rule[rule_id] = RuleChanges(opened, seen_again)
        in_scope = SQL("TRUE")
        if run.mode == "event":
            create_event_scope(conn, run.run_id)
        elif run.mode == "incremental":
            create_window_scope(conn, run.window_start, run_started_at(conn, run.run_id))
        if run.mode != "full":
            in_scope = SQL(load_sql("alerts/_in_window.sql").strip())
        resolved = conn.execute(
            SQL(load_sql("alerts/resolve.sql")).format(in_scope=in_scope),
            {"run_id": run.run_id, "rule_ids": list(run.counts)},
        )
        for rule_id, count in resolved:
            by_rule[rule_id].resolved = count
    changes = by_rule.values()
    return AlertChanges(
        opened=sum(c.opened for c in changes),
        seen_again=sum(c.seen_again for c in changes),
        resolved=sum(c.resolved for c in changes),
        by_rule=by_rule,
    )


def open_summary(url: str) -> list[OpenAlerts]:
    """Open alerts per rule and severity, most severe first."""
    with connect(url) as conn:
        rows = conn.execute(load_sql("alerts/open_summary.sql")).fetchall()
    summary = [
        OpenAlerts(alert_type, Severity(severity), *counts)
        for alert_type, severity, *counts in rows
    ]
    return sorted(summary, key=lambda a: (a.severity.rank, a.alert_type))
