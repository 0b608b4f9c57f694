"""Auto-corrections: the fix of each correctable rule, applied to one detection run's findings.

A correction never trusts its findings blindly: per batch, in one statement and so one
transaction, it locks the rows (``FOR NO KEY UPDATE SKIP LOCKED`` — a row the app holds is left for
the next run), re-checks the rule's predicate on the locked row (the app may have fixed or changed
it since detection), applies the fix set-wise, writes an audit alert per corrected row and
resolves the detection alert. Findings without a safe fix go to the review queue. Running it
twice changes nothing the second time; a rule with more findings than the blast-radius limit is
not corrected at all. The SQL is in ``sql/corrections/``: ``_batch.sql`` around one file per rule.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from typing import Any

from psycopg import sql

from booking_guard import review
from booking_guard.db import connect, scalar
from booking_guard.errors import BookingGuardError
from booking_guard.resources import load_sql
from booking_guard.rules import RULES, RULES_BY_ID, Rule
from booking_guard.settings import Settings

log = logging.getLogger(__name__)

# Findings per transaction: short row locks, while a run of the default limit is one batch.
BATCH_ROWS = 1_000

# The audit alert's description per correction: static text, the values are in its metadata.
DESCRIPTIONS = {
    "session_outcome_mismatch": (
        "Call outcome was appointment_booked with appointment_made false while a live"
        " appointment points to it; flag set."
    ),
    "missing_direction": "Call had no direction; set to inbound.",
    "orphaned_appointment": (
        "Webhook appointment had no call; linked to the one live call of its company that"
        " identifies it."
    ),
    "inconsistent_link_status": (
        "Call had appointment_made and a live appointment but was not linked; link status set."
    ),
    "link_backref_mismatch": (
        "Call pointed to a missing, deleted or other call's appointment; repaired from the"
        " appointment side."
    ),
}
LOCKS = {
    "lock_calls": sql.SQL("FOR NO KEY UPDATE OF c SKIP LOCKED"),
    "lock_appointments": sql.SQL("FOR NO KEY UPDATE OF a SKIP LOCKED"),
}
NO_LOCKS = dict.fromkeys(LOCKS, sql.SQL(""))


class CorrectionBlocked(BookingGuardError):
    """The blast-radius limit stopped a rule's correction: the task fails, Slack is told."""


def correctable_rules() -> tuple[Rule, ...]:
    """The rules registered as auto-correctable, in registry order: one DAG task each."""
    return tuple(rule for rule in RULES if rule.auto_correctable)


@dataclass
class Change:
    """What became of one finding: corrected (or would be), sent to review, or skipped."""

    entity_id: int
    outcome: str
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    why: str | None = None


@dataclass
class CorrectionResult:
    rule_id: str
    run_id: int
    dry_run: bool
    findings: int
    limit: int
    blocked: bool = False
    changes: list[Change] = field(default_factory=list)
    queued: int = 0

    def count(self, outcome: str) -> int:
        return sum(1 for change in self.changes if change.outcome == outcome)

    @property
    def corrected(self) -> int:
        return self.count("would_correct" if self.dry_run else "corrected")

    def summary(self) -> dict[str, Any]:
        """Counts only: what a DAG task returns (XCom) and the CLI prints per rule."""
        return {
            "rule_id": self.rule_id,
            "run_id": self.run_id,
            "dry_run": self.dry_run,
            "findings": self.findings,
            "limit": self.limit,
            "blocked": self.blocked,
            "corrected": self.corrected,
            "to_review": self.count("review"),
            "queued": self.queued,
            "skipped": self.count("skipped"),
        }

    def as_dict(self) -> dict[str, Any]:
        return {**self.summary(), "changes": [asdict(change) for change in self.changes]}


def correct(
    url: str,
    run_id: int,
    rule_id: str,
    *,
    max_rows: int,
    dry_run: bool = False,
    batch_rows: int = BATCH_ROWS,
) -> CorrectionResult:
    """Correct the findings of one rule in detection run ``run_id``, batch by batch.

    More than ``max_rows`` findings: nothing is corrected and one critical alert is raised (not in
    a dry run); the result says ``blocked``. A dry run runs the same statements without locks and
    with every write switched off, in a transaction that is rolled back.
    """
    rule = correctable_rule(rule_id)
    correction = sql.SQL(load_sql(f"corrections/{rule.id}.sql").strip()).format(
        **(NO_LOCKS if dry_run else LOCKS)
    )
    statement = sql.SQL(load_sql("corrections/_batch.sql")).format(correction=correction)
    with connect(url, autocommit=True) as conn:
        entity_ids = [
            row[0]
            for row in conn.execute(
                "SELECT DISTINCT entity_id FROM bg_rule_findings"
                " WHERE run_id = %s AND rule_id = %s ORDER BY 1",
                (run_id, rule.id),
            )
        ]
        result = CorrectionResult(rule.id, run_id, dry_run, len(entity_ids), max_rows)
        limits = {"run_id": run_id, "rule_id": rule.id}
        if len(entity_ids) > max_rows:
            result.blocked = True
            if not dry_run:
                conn.execute(
                    load_sql("corrections/_blocked.sql"),
                    {**limits, "findings": len(entity_ids), "limit": max_rows},
                )
            log.error(
                "%s: %d findings in run %d exceed the limit of %d, nothing corrected",
                rule.id,
                len(entity_ids),
                run_id,
                max_rows,
            )
            return result
        if not dry_run:
            conn.execute(load_sql("corrections/_unblocked.sql"), limits)
        params = {
            **limits,
            "severity": rule.severity,
            "entity_type": rule.entity_type,
            "description": DESCRIPTIONS[rule.id],
            "apply": not dry_run,
        }
        for start in range(0, len(entity_ids), batch_rows):
            batch = entity_ids[start : start + batch_rows]
            with conn.transaction(force_rollback=dry_run):
                rows = conn.execute(statement, {**params, "entity_ids": batch}).fetchall()
                changes = [Change(*row) for row in rows]
                unsafe = [(c.entity_id, c.why or "") for c in changes if c.outcome == "review"]
                if unsafe and not dry_run:
                    result.queued += review.enqueue_unsafe(conn, rule, unsafe)
            result.changes += changes
    log.info("%s: %s", rule.id, result.summary())
    return result


def correctable_rule(rule_id: str) -> Rule:
    rule = RULES_BY_ID.get(rule_id)
    if rule is None or not rule.auto_correctable:
        names = ", ".join(r.id for r in correctable_rules())
        raise BookingGuardError(f"{rule_id!r} is not an auto-correctable rule (those are: {names})")
    return rule


def latest_run(url: str) -> int:
    """The newest successful detection run: what ``booking-guard correct`` acts on."""
    with connect(url) as conn:
        run_id: int | None = scalar(conn, load_sql("runs/last_succeeded.sql"))
    if run_id is None:
        raise BookingGuardError("no successful check run yet: run `booking-guard check` first")
    return run_id


def step_correct(settings: Settings, run_id: int, rule_id: str) -> dict[str, Any]:
    """One correction task of the monitor DAG; fails when the blast-radius limit stopped it."""
    result = correct(settings.database_url, run_id, rule_id, max_rows=settings.max_corrections)
    if result.blocked:
        raise CorrectionBlocked(
            f"{rule_id}: {result.findings} findings in run {run_id} exceed"
            f" BOOKING_GUARD_MAX_CORRECTIONS={result.limit}; nothing corrected"
        )
    return result.summary()
