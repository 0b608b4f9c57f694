"""The detection rules: a registry over the SQL files in ``sql/rules`` and the pass that runs them.

A run executes each rule's query once, inside PostgreSQL, writing the violating keys into
``bg_rule_findings`` under the run's id. Everything downstream (the Great Expectations suite, the
alert writer, notifications) reads that table, so the app tables are scanned once per rule.
"""

from __future__ import annotations

import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from booking_guard.db import connect, load_sql
from booking_guard.errors import BookingGuardError

Severity = Literal["critical", "warning", "info"]
EntityType = Literal["call", "appointment"]

# The incremental window reaches back this far before the last successful run's start, so a row
# committed by a transaction that began before that run is not missed.
WINDOW_OVERLAP = timedelta(minutes=2)
# Findings of older runs are dropped; the last few stay for the suite, the alerts and debugging.
KEEP_FINDING_RUNS = 3


@dataclass(frozen=True)
class Rule:
    """One detection rule. ``id`` is also the alert type and names ``sql/rules/<id>.sql``."""

    id: str
    severity: Severity
    entity_type: EntityType | Literal["call or appointment"]
    description: str
    auto_correctable: bool = False
    incremental: bool = True

    @property
    def sql(self) -> str:
        return load_sql(f"rules/{self.id}.sql")


RULES: tuple[Rule, ...] = (
    Rule(
        "session_outcome_mismatch",
        "critical",
        "call",
        "Call outcome is 'appointment_booked' but appointment_made is false.",
        auto_correctable=True,
    ),
    Rule(
        "missing_appointment",
        "critical",
        "call",
        "Call is flagged appointment_made but no live appointment is linked to it.",
    ),
    Rule(
        "missing_direction",
        "warning",
        "call",
        "Call has no direction.",
        auto_correctable=True,
    ),
    Rule(
        "orphaned_appointment",
        "warning",
        "appointment",
        "Appointment created by the voice-agent webhook has no call.",
        auto_correctable=True,
    ),
    Rule("booking_failure", "info", "call", "Booking through the calendar API failed."),
    Rule(
        "inconsistent_link_status",
        "warning",
        "call",
        "Call is flagged appointment_made but its appointment link status is not 'linked'.",
        auto_correctable=True,
    ),
    Rule(
        "appointment_call_missing",
        "critical",
        "appointment",
        "Appointment points to a call that does not exist or is soft-deleted.",
    ),
    Rule(
        "link_backref_mismatch",
        "warning",
        "call",
        "Call points to an appointment that is missing, deleted, or linked to another call.",
        auto_correctable=True,
        incremental=False,
    ),
    Rule(
        "cross_tenant_link",
        "critical",
        "appointment",
        "Appointment and its call belong to different companies.",
    ),
    Rule(
        "duplicate_booking_id",
        "critical",
        "appointment",
        "Cal.com booking id is shared by more than one live appointment.",
    ),
    Rule(
        "invalid_value",
        "warning",
        "call or appointment",
        "Column holds a value outside its allowed set.",
    ),
)
RULES_BY_ID = {rule.id: rule for rule in RULES}


@dataclass
class DetectionRun:
    """What a detection pass did: its id (the key of its findings), window, and counts."""

    run_id: int
    mode: Literal["full", "incremental"]
    window_start: datetime | None
    counts: dict[str, int]
    seconds: dict[str, float]

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def to_dict(self) -> dict:
        """A JSON-able form, for XCom between DAG tasks."""
        return {
            "run_id": self.run_id,
            "mode": self.mode,
            "window_start": self.window_start.isoformat() if self.window_start else None,
            "counts": self.counts,
            "seconds": self.seconds,
        }

    @classmethod
    def from_dict(cls, data: dict) -> DetectionRun:
        start = data.get("window_start")
        return cls(
            run_id=int(data["run_id"]),
            mode=data["mode"],
            window_start=datetime.fromisoformat(start) if start else None,
            counts=dict(data["counts"]),
            seconds=dict(data["seconds"]),
        )


INSERT_FINDINGS = sql.SQL(
    "INSERT INTO bg_rule_findings"
    " (run_id, rule_id, entity_type, entity_id, company_id, column_name, detail)"
    " SELECT %(run_id)s, %(rule_id)s, f.entity_type, f.entity_id, f.company_id, f.column_name,"
    " f.detail FROM ({}) AS f"
)
FULL_SCOPE = {"call_scope": "TRUE", "appointment_scope": "TRUE", "booking_scope": "TRUE"}
WINDOW_SCOPE = {
    "call_scope": "c.id IN (SELECT id FROM pg_temp.bg_scope_calls)",
    "appointment_scope": "a.id IN (SELECT id FROM pg_temp.bg_scope_appointments)",
    "booking_scope": (
        "calcom_v2_booking_id IN (SELECT s.calcom_v2_booking_id FROM appointments s"
        " JOIN pg_temp.bg_scope_appointments w ON w.id = s.id)"
    ),
}


def rule_query(rule: Rule, *, full: bool) -> sql.Composed:
    """The rule's SELECT with its scope filled in: everything, or the run's window."""
    scope = FULL_SCOPE if full else WINDOW_SCOPE
    text = rule.sql.strip().rstrip(";")
    return sql.SQL(text).format(**{k: sql.SQL(v) for k, v in scope.items() if f"{{{k}}}" in text})


def detect(
    url: str,
    *,
    full: bool = False,
    since: datetime | None = None,
    rules: tuple[Rule, ...] = RULES,
    workers: int | None = None,
    catch_up: bool = False,
) -> DetectionRun:
    """Run the rules once into ``bg_rule_findings``; incremental from ``since`` or the last run.

    An incremental run without ``since`` starts at the last successful run's start minus
    ``WINDOW_OVERLAP``; with no successful run yet, it is a full scan. With ``catch_up`` (the
    scheduled DAG) the window also reaches back to the last successful run, so changes made while
    the monitor was down or failing are not skipped. A full scan runs the rules
    on ``workers`` connections at once (``BOOKING_GUARD_RULE_WORKERS``, default 2), so a
    database with several cores checks several tables at a time.
    """
    with connect(url, autocommit=True) as conn:
        require_monitor_tables(conn)
        if not full and (since is None or catch_up):
            last = last_successful_start(conn)
            since = min(filter(None, (since, last)), default=None)
            full = since is None
        mode = "full" if full else "incremental"
        window_start = None if full else since
        run_id = conn.execute(
            "INSERT INTO bg_check_runs (mode, window_start) VALUES (%s, %s) RETURNING id",
            (mode, window_start),
        ).fetchone()[0]
    selected = [r for r in rules if full or r.incremental]
    if workers is None:
        workers = int(os.environ.get("BOOKING_GUARD_RULE_WORKERS", "2")) if full else 1
    workers = max(1, min(workers, len(selected)))
    queue = list(selected)
    lock = threading.Lock()
    counts: dict[str, int] = {}
    seconds: dict[str, float] = {}

    def work() -> None:
        with connect(url, autocommit=True) as conn:
            if not full:
                # Several statements with one parameter: bound client-side.
                psycopg.ClientCursor(conn).execute(load_sql("rules/_scope.sql"), {"since": since})
            while True:
                with lock:
                    if not queue:
                        return
                    rule = queue.pop(0)
                started = time.perf_counter()
                query = INSERT_FINDINGS.format(rule_query(rule, full=full))
                found = conn.execute(query, {"run_id": run_id, "rule_id": rule.id}).rowcount
                with lock:
                    counts[rule.id] = found
                    seconds[rule.id] = round(time.perf_counter() - started, 3)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        for future in [pool.submit(work) for _ in range(workers)]:
            future.result()
    if full:
        with connect(url, autocommit=True) as conn:
            conn.execute("ANALYZE bg_rule_findings")
    ordered = {r.id: counts[r.id] for r in selected}
    return DetectionRun(
        run_id, mode, window_start, ordered, {r.id: seconds[r.id] for r in selected}
    )


def require_monitor_tables(conn: psycopg.Connection) -> None:
    """A clear error, not a missing-relation one, when the migrations were never deployed."""
    missing = conn.execute(
        "SELECT string_agg(t, ', ') FROM unnest(ARRAY['bg_check_runs', 'bg_rule_findings',"
        " 'data_consistency_alerts']) AS t WHERE to_regclass(t) IS NULL"
    ).fetchone()[0]
    if missing:
        raise BookingGuardError(
            f"the monitor's tables are missing ({missing}): run `booking-guard migrate` first"
        )


def last_successful_start(conn: psycopg.Connection) -> datetime | None:
    row = conn.execute(
        "SELECT max(started_at) FROM bg_check_runs WHERE status = 'succeeded'"
    ).fetchone()
    return None if row[0] is None else row[0] - WINDOW_OVERLAP


def finish_run(url: str, run: DetectionRun, *, succeeded: bool) -> None:
    """Close the run and drop the findings of runs older than the last ``KEEP_FINDING_RUNS``."""
    with connect(url) as conn:
        conn.execute(
            "UPDATE bg_check_runs SET finished_at = now(), status = %s, findings = %s,"
            " summary = %s WHERE id = %s",
            (
                "succeeded" if succeeded else "failed",
                run.total,
                Jsonb(run.counts),
                run.run_id,
            ),
        )
        conn.execute(load_sql("rules/_prune_findings.sql"), {"keep": KEEP_FINDING_RUNS})


INVALID_VALUES_OF_ONE_CALL = sql.SQL(
    "SELECT entity_type, entity_id, column_name, detail FROM ({}) AS f"
    " WHERE (f.entity_type = 'call' AND f.entity_id = %(call_id)s)"
    " OR (f.entity_type = 'appointment' AND f.entity_id = ANY (%(appointment_ids)s))"
)


def check_call(url: str, call_id: int) -> list[dict]:
    """Every rule that applies to one call, for the booking app (BEHAVIOUR §B.2 and more).

    Reads only; returns ``[{type, severity, description, call_id, entity_type, entity_id, …}]``
    in the order of §B.2, then the rules the original missed. A soft-deleted call has no issues
    of its own (an appointment pointing to it is found by the monitor); an unknown id is an error.
    """
    with connect(url) as conn:
        if conn.execute("SELECT 1 FROM calls WHERE id = %s", (call_id,)).fetchone() is None:
            raise BookingGuardError(f"call {call_id} does not exist")
        rows = conn.execute(load_sql("rules/check_call.sql"), {"call_id": call_id}).fetchall()
        appointment_ids = [
            r[0]
            for r in conn.execute(
                "SELECT id FROM appointments WHERE call_id = %s AND deleted_at IS NULL", (call_id,)
            )
        ]
        invalid = conn.execute(
            INVALID_VALUES_OF_ONE_CALL.format(rule_query(RULES_BY_ID["invalid_value"], full=True)),
            {"call_id": call_id, "appointment_ids": appointment_ids},
        ).fetchall()
    issues = [(rule_id, et, eid, col, detail) for _, rule_id, et, eid, col, detail in rows]
    issues += [("invalid_value", et, eid, col, detail) for et, eid, col, detail in invalid]
    return [
        {
            "type": rule_id,
            "severity": RULES_BY_ID[rule_id].severity,
            "description": RULES_BY_ID[rule_id].description,
            "call_id": call_id,
            "entity_type": entity_type,
            "entity_id": entity_id,
            **({"column": column} if column else {}),
            **detail,
        }
        for rule_id, entity_type, entity_id, column, detail in issues
    ]
