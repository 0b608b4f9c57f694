"""The manual review queue: what must not be corrected automatically, for people to decide.

Items come from open alerts — of the rules that are never corrected automatically, the triggers'
``session_outcome_conflict``, and the findings a correction found no safe fix for — once per alert
and at most one open item per (reason, entity). The reason is the alert type, so the hourly run
re-checks an item with the same rule query, scoped to the item's entities, and resolves it when
the data became consistent. Items pending too long are escalated once to Slack. People resolve,
dismiss and reopen items; every action, theirs or booking-guard's, is a row in the append-only
``manual_review_history``.
"""

from __future__ import annotations

import getpass
import json
import logging
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Literal

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from booking_guard.channels import SlackChannel
from booking_guard.db import connect
from booking_guard.errors import BookingGuardError
from booking_guard.privacy import mask
from booking_guard.resources import load_sql
from booking_guard.rules import RULES_BY_ID, Rule, ScopeKind
from booking_guard.settings import Settings
from booking_guard.severity import Severity

log = logging.getLogger(__name__)

SYSTEM_ACTOR = "booking-guard"
# Rules whose findings a person decides (the correctable rules queue only what they cannot fix).
QUEUED_RULES = (
    "missing_appointment",
    "cross_tenant_link",
    "duplicate_booking_id",
    "appointment_call_missing",
)
CONFLICT = "session_outcome_conflict"
# BEHAVIOUR §B.5: 1 is the most urgent; every other reason is 5.
PRIORITY = {
    "appointment_validation_failed": 1,
    "calcom_booking_failed": 2,
    "customer_creation_failed": 3,
    "service_not_found": 4,
}
DEFAULT_PRIORITY = 5
# The hourly run takes an item at most once in this time, however many processors run.
RECHECK_AFTER = timedelta(minutes=30)
BATCH_ROWS = 10_000  # items are bookkeeping rows: one batch per hour is the common case
OPEN, CLOSED = ("pending", "in_progress"), ("resolved", "dismissed")
STATUSES = OPEN + CLOSED
Action = Literal["resolve", "dismiss", "reopen"]
ACTIONS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    # action: (history action, status after, statuses it applies to)
    "resolve": ("resolved", "resolved", OPEN),
    "dismiss": ("dismissed", "dismissed", OPEN),
    "reopen": ("reopened", "pending", CLOSED),
}


@dataclass(frozen=True)
class _ReviewCheck(Rule):
    """A rule-shaped query kept with the review queue: a condition no detection rule covers."""

    @property
    def sql(self) -> str:
        return load_sql(f"review/{self.id}.sql")


RECHECKS: dict[str, Rule] = {
    **{rule.id: rule for rule in RULES_BY_ID.values() if rule.entity_type != "call or appointment"},
    CONFLICT: _ReviewCheck(
        CONFLICT,
        Severity.INFO,
        "call",
        "Call has appointment_made with another explicit outcome.",
        auto_correctable=False,
        scopes=frozenset({ScopeKind.ENTITY}),
    ),
}


def priority(reason: str) -> int:
    """A reason's priority in the queue (BEHAVIOUR §B.5)."""
    return PRIORITY.get(reason, DEFAULT_PRIORITY)


def _enqueue(conn: psycopg.Connection, reasons: list[str], picked: list[dict[str, Any]]) -> int:
    return conn.execute(
        load_sql("review/enqueue.sql"),
        {
            "reasons": reasons,
            "picked": json.dumps(picked),
            "priorities": json.dumps(PRIORITY),
            "actor": SYSTEM_ACTOR,
        },
    ).rowcount


def enqueue(url: str) -> int:
    """Queue the open alerts people must decide (hourly DAG task); returns the new items."""
    with connect(url) as conn:
        return _enqueue(conn, [*QUEUED_RULES, CONFLICT], [])


def enqueue_unsafe(conn: psycopg.Connection, rule: Rule, unsafe: list[tuple[int, str]]) -> int:
    """Queue the findings a correction found no safe fix for, in the correction's transaction."""
    picked = [
        {"fingerprint": f"{rule.id}:{rule.entity_type}:{entity_id}", "why": why}
        for entity_id, why in unsafe
    ]
    return _enqueue(conn, [], picked)


@dataclass
class RecheckReport:
    taken: list[int] = field(default_factory=list)
    resolved: dict[str, int] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        return {"rechecked": len(self.taken), "resolved": self.resolved}


def recheck(
    url: str, *, batch_rows: int = BATCH_ROWS, recheck_after: timedelta = RECHECK_AFTER
) -> RecheckReport:
    """Re-check pending items with their rules; resolve those now consistent (hourly DAG task).

    Batch by batch, each in one transaction: claim items ``FOR UPDATE SKIP LOCKED`` (a concurrent
    processor takes others) and stamp them re-checked in the same statement, run each rule of the
    batch's reasons once, scoped to the batch's entities, resolve what the rules no longer find.
    A batch smaller than ``batch_rows`` is the last: what it left is another processor's. Items
    with a reason no rule checks (a failed post-booking validation) wait for a person.
    """
    report = RecheckReport()
    note = "consistent on re-check: the rule no longer finds it"
    claim = {"reasons": list(RECHECKS), "recheck_after": recheck_after, "limit": batch_rows}
    with connect(url, autocommit=True) as conn:
        while True:
            with conn.transaction():
                claimed = _claim(conn, claim)
                for reason in sorted({reason for _, reason in claimed}):
                    conn.execute(
                        sql.SQL(load_sql("review/still_found.sql")).format(
                            rule=RECHECKS[reason].query(ScopeKind.ENTITY)
                        ),
                        {"reason": reason},
                    )
                resolved = conn.execute(
                    load_sql("review/resolve.sql"), {"note": note, "actor": SYSTEM_ACTOR}
                ).fetchall()
            report.taken += [item_id for item_id, _ in claimed]
            for reason, count in resolved:
                report.resolved[reason] = report.resolved.get(reason, 0) + count
            if len(claimed) < batch_rows:
                break
    log.info("review re-check: %s", report.summary())
    return report


def _claim(conn: psycopg.Connection, params: dict[str, Any]) -> list[tuple[int, str]]:
    """Claim and stamp a batch with its scope tables, one round trip; its (id, reason) rows."""
    cursor = psycopg.ClientCursor(conn)
    cursor.execute(load_sql("review/claim.sql"), params)
    while cursor.nextset():  # the script's last statement lists the claimed items
        pass
    return cursor.fetchall()


def escalate(url: str, settings: Settings) -> int:
    """Tell Slack, once, about items pending longer than the escalation time (hourly DAG task).

    One message for all of them (counts per priority and reason, a few ids); the items are
    marked only when it was delivered, so a failed send is retried by the next run.
    """
    if not settings.slack_enabled:
        log.info("Slack is off (DATA_CONSISTENCY_ALERT_SLACK): no escalation")
        return 0
    hours = settings.review_escalate_hours
    with connect(url) as conn:
        groups = conn.execute(load_sql("review/escalate.sql"), {"hours": hours}).fetchall()
        if not groups:
            return 0
        ids = [item_id for *_, group_ids in groups for item_id in group_ids]
        lines = [
            f"• priority {priority} {reason}: {items} (oldest since {oldest:%Y-%m-%d %H:%M} UTC;"
            f" items {', '.join(map(str, sample))}{', …' if items > len(sample) else ''})"
            for priority, reason, items, oldest, sample, _ in groups
        ]
        SlackChannel(settings.slack_conn_id).send(
            "booking-guard: review queue",
            mask(
                f":hourglass: booking-guard review queue: {len(ids)} item"
                f"{'s' if len(ids) != 1 else ''} pending for more than {hours} h\n"
                + "\n".join(lines)
            ),
        )
        conn.execute(
            load_sql("review/mark_escalated.sql"),
            {"ids": ids, "actor": SYSTEM_ACTOR, "note": f"pending for more than {hours} h"},
        )
    return len(ids)


def process(url: str, settings: Settings) -> dict[str, Any]:
    """The hourly run: queue what is new, re-check what is pending, escalate what is stale."""
    queued = enqueue(url)
    rechecked = recheck(url)
    escalated = escalate(url, settings)
    return {"queued": queued, **rechecked.summary(), "escalated": escalated}


def act(
    url: str, item_id: int, action: Action, *, notes: str | None = None, by: str | None = None
) -> dict[str, Any]:
    """A person resolves, dismisses or reopens an item; recorded with who, when and why.

    An unknown item, or an action that does not apply to its status, is an error, never a no-op.
    """
    history_action, status, applies_to = ACTIONS[action]
    actor = by or getpass.getuser()
    with connect(url) as conn:
        row = conn.execute(
            "SELECT status FROM manual_review_queue WHERE id = %s FOR UPDATE", (item_id,)
        ).fetchone()
        if row is None:
            raise BookingGuardError(f"review item {item_id} does not exist")
        if row[0] not in applies_to:
            raise BookingGuardError(
                f"review item {item_id} is {row[0]}: only {' or '.join(applies_to)} items"
                f" can be {history_action}"
            )
        try:
            conn.execute(
                load_sql("review/act.sql"),
                {
                    "id": item_id,
                    "status": status,
                    "action": history_action,
                    "actor": actor,
                    "notes": notes,
                },
            )
        except psycopg.errors.UniqueViolation:
            raise BookingGuardError(
                f"review item {item_id} cannot be reopened: another open item covers the same"
                " problem"
            ) from None
    return show(url, item_id)


def list_items(
    url: str, *, statuses: tuple[str, ...] = OPEN, company_id: int | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    """Items for people, open ones first by priority and age."""
    with connect(url) as conn:
        cursor = conn.cursor(row_factory=dict_row)
        return cursor.execute(
            load_sql("review/list.sql"),
            {"statuses": list(statuses), "company_id": company_id, "limit": limit},
        ).fetchall()


def show(url: str, item_id: int) -> dict[str, Any]:
    """One item with its history, oldest action first."""
    with connect(url) as conn:
        cursor = conn.cursor(row_factory=dict_row)
        item = cursor.execute(load_sql("review/item.sql"), {"id": item_id}).fetchone()
        if item is None:
            raise BookingGuardError(f"review item {item_id} does not exist")
        item["history"] = cursor.execute(load_sql("review/history.sql"), {"id": item_id}).fetchall()
    return item
