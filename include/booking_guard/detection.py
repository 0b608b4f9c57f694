"""Running the rules: a detection run's life cycle and the engine that fills its findings.

A run executes each rule's query once, inside PostgreSQL, writing the violating keys into
``bg_rule_findings`` under the run's id. Everything downstream (the Great Expectations suite, the
alert writer, corrections, notifications) reads that table, so the app tables are scanned once
per rule. This module owns a run from ``INSERT`` to its closing ``UPDATE``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from booking_guard.db import connect, scalar
from booking_guard.errors import BookingGuardError
from booking_guard.resources import load_sql
from booking_guard.rules import RULES, RULES_BY_ID, Rule, ScopeKind, Shard

# The incremental window reaches back this far before the last successful run's start, so a row
# committed by a transaction that began before that run is not missed.
WINDOW_OVERLAP = timedelta(minutes=2)
# Findings of older runs are dropped; the last few stay for the suite, the alerts and debugging.
KEEP_FINDING_RUNS = 3
DEFAULT_FULL_SCAN_WORKERS = 2
# A run still "running" after this long has lost its process; the next run closes it as failed.
STALE_RUN_MINUTES = 60

Mode = Literal["full", "incremental", "event"]


@dataclass
class DetectionRun:
    """What a detection run did: its id (the key of its findings), window, and counts."""

    run_id: int
    mode: Mode
    window_start: datetime | None
    counts: dict[str, int]
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def rules(self) -> list[Rule]:
        return [RULES_BY_ID[rule_id] for rule_id in self.counts]


@dataclass(frozen=True)
class Finding:
    """One violation of one rule by one entity (and column, for value rules)."""

    rule: Rule
    entity_type: str
    entity_id: int
    company_id: int | None
    column: str | None
    detail: dict[str, object]


def ensure_ready(url: str) -> None:
    """Fail fast, before anything heavy is imported, when the database cannot be checked."""
    with connect(url, autocommit=True) as conn:
        require_monitor_tables(conn)


def require_monitor_tables(conn: psycopg.Connection) -> None:
    """A clear error, not a missing-relation one, when the migrations were never deployed."""
    missing = scalar(conn, load_sql("runs/missing_tables.sql"))
    if missing:
        raise BookingGuardError(
            f"the monitor's tables are missing ({missing}): run `booking-guard migrate` first"
        )


def last_successful_start(conn: psycopg.Connection) -> datetime | None:
    """Where an incremental window starts: the last successful run's start minus the overlap."""
    started: datetime | None = scalar(conn, load_sql("runs/last_success.sql"))
    return None if started is None else started - WINDOW_OVERLAP


def detect(
    url: str,
    *,
    full: bool = False,
    since: datetime | None = None,
    rules: Sequence[Rule] = RULES,
    workers: int = DEFAULT_FULL_SCAN_WORKERS,
    catch_up: bool = False,
) -> DetectionRun:
    """Open a run and fill its findings; incremental from ``since`` or the last run.

    An incremental run without ``since`` starts at the last successful run's start minus
    ``WINDOW_OVERLAP``; with no successful run yet, it is a full scan. With ``catch_up`` (the
    scheduled DAG) the window also reaches back to the last successful run, so changes made while
    the monitor was down or failing are not skipped. A full scan runs the rules on ``workers``
    connections at once; an incremental one on one (its window is a session's temp table).
    A run whose detection fails is closed as failed, not left running.
    """
    with connect(url, autocommit=True) as conn:
        require_monitor_tables(conn)
        if not full and (since is None or catch_up):
            last = last_successful_start(conn)
            since = min(filter(None, (since, last)), default=None)
            full = since is None
    run = open_run(url, "full" if full else "incremental", None if full else since)
    _expire_change_events(url, None if full else since)
    scope = ScopeKind.FULL if full else ScopeKind.INCREMENTAL
    selected = [r for r in rules if scope in r.scopes]
    with failing_run(url, run):
        _fill_findings(url, run, selected, scope, since, workers if full else 1)
        if full:
            _analyze(url)
    run.counts = {r.id: run.counts[r.id] for r in selected}
    run.seconds = {r.id: run.seconds[r.id] for r in selected}
    return run


def open_run(url: str, mode: Mode, window_start: datetime | None) -> DetectionRun:
    """Record a new run (closing the stale ones first); its findings come next."""
    with connect(url, autocommit=True) as conn:
        conn.execute(load_sql("runs/reap.sql"), {"minutes": STALE_RUN_MINUTES})
        run_id: int = scalar(
            conn, load_sql("runs/start.sql"), {"mode": mode, "window_start": window_start}
        )
    return DetectionRun(run_id, mode, window_start, counts={})


def _expire_change_events(url: str, covered_from: datetime | None) -> None:
    with connect(url, autocommit=True) as conn:
        if scalar(conn, "SELECT to_regclass('bg_change_events') IS NOT NULL"):
            conn.execute(load_sql("runs/expire_change_events.sql"), {"covered_from": covered_from})


def _analyze(url: str) -> None:
    with connect(url, autocommit=True) as conn:
        conn.execute("ANALYZE bg_rule_findings")


def scan_shard(
    url: str, run: DetectionRun, shard: Shard, *, rules: Sequence[Rule] = RULES
) -> DetectionRun:
    """One company shard of a full scan, into the run's findings: what one mapped task of the
    sharded full scan does, so several workers check one big database at once. Rules that
    cannot be split by company run whole in shard 0."""
    part = DetectionRun(run.run_id, run.mode, run.window_start, counts={})
    selected = [
        r for r in rules if ScopeKind.FULL in r.scopes and (r.shardable or shard.index == 0)
    ]
    with failing_run(url, run):
        _fill_findings(url, part, selected, ScopeKind.FULL, None, 1, shard)
    return part


def merge_shards(url: str, run: DetectionRun, parts: Sequence[DetectionRun]) -> DetectionRun:
    """The full run the shards made together: counts summed per rule, in registry order."""
    counts: dict[str, int] = {}
    seconds: dict[str, float] = {}
    for part in parts:
        for rule_id, found in part.counts.items():
            counts[rule_id] = counts.get(rule_id, 0) + found
            seconds[rule_id] = max(seconds.get(rule_id, 0.0), part.seconds[rule_id])
    order = [r.id for r in RULES if r.id in counts]
    with failing_run(url, run):
        _analyze(url)
    return DetectionRun(
        run.run_id,
        run.mode,
        run.window_start,
        counts={rule_id: counts[rule_id] for rule_id in order},
        seconds={rule_id: seconds[rule_id] for rule_id in order},
    )


def detect_entities(
    url: str,
    *,
    call_ids: Iterable[int],
    appointment_ids: Iterable[int],
    rules: Sequence[Rule] = RULES,
) -> DetectionRun:
    """An event run: the entity-scope rules over the given calls and appointments (and the other
    side of their links), findings stored like any run's.

    The scope is stored with the run (``bg_event_run_entities``) so that the alert writer resolves
    exactly where the run looked, even if links change meanwhile. An event run never moves the
    incremental window: the 5-minute run stays the safety net for what events miss.
    """
    with connect(url, autocommit=True) as conn:
        require_monitor_tables(conn)
        conn.execute(load_sql("events/prune_scopes.sql"), {"keep": KEEP_FINDING_RUNS})
        run_id: int = scalar(
            conn, load_sql("runs/start.sql"), {"mode": "event", "window_start": None}
        )
    selected = [r for r in rules if ScopeKind.ENTITY in r.scopes]
    run = DetectionRun(run_id, "event", None, counts={})
    with failing_run(url, run):
        with connect(url, autocommit=True) as conn:
            psycopg.ClientCursor(conn).execute(
                load_sql("rules/_scope_entities.sql"),
                {"call_ids": list(call_ids), "appointment_ids": list(appointment_ids)},
            )
            conn.execute(load_sql("events/store_scope.sql"), {"run_id": run_id})
        _fill_findings(url, run, selected, ScopeKind.ENTITY, None, 1)
    run.counts = {r.id: run.counts[r.id] for r in selected}
    run.seconds = {r.id: run.seconds[r.id] for r in selected}
    return run


def create_event_scope(conn: psycopg.Connection, run_id: int) -> None:
    """The session's temp tables of an event run's stored scope (as ``create_window_scope``)."""
    psycopg.ClientCursor(conn).execute(load_sql("events/_scope_of_run.sql"), {"run_id": run_id})


def _fill_findings(
    url: str,
    run: DetectionRun,
    selected: list[Rule],
    scope: ScopeKind,
    since: datetime | None,
    workers: int,
    shard: Shard | None = None,
) -> None:
    """Each rule's query once, on a small pool of connections taking rules from one queue."""
    queue = list(selected)
    lock = threading.Lock()
    insert = sql.SQL(load_sql("rules/_insert_findings.sql"))

    def work() -> None:
        with connect(url, autocommit=True) as conn:
            if scope is ScopeKind.INCREMENTAL:
                # Several statements with one parameter: bound client-side.
                create_window_scope(conn, since)
            elif scope is ScopeKind.ENTITY:
                create_event_scope(conn, run.run_id)
            while True:
                with lock:
                    if not queue:
                        return
                    rule = queue.pop(0)
                started = time.perf_counter()
                found = conn.execute(
                    insert.format(rule=rule.query(scope, shard)),
                    {"run_id": run.run_id, "rule_id": rule.id},
                ).rowcount
                with lock:
                    run.counts[rule.id] = found
                    run.seconds[rule.id] = round(time.perf_counter() - started, 3)

    workers = max(1, min(workers, len(selected)))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for future in [pool.submit(work) for _ in range(workers)]:
            future.result()


@contextmanager
def failing_run(url: str, run: DetectionRun) -> Iterator[None]:
    """Close the run as failed when the block raises: a run never stays "running" because a
    step after detection (validation, alert writing) broke."""
    try:
        yield
    except BaseException:
        finish_run(url, run, succeeded=False)
        raise


def create_window_scope(
    conn: psycopg.Connection, since: datetime | None, until: datetime | None = None
) -> None:
    """The session's temp tables of an incremental window (several statements, one parameter
    set: bound client-side)."""
    psycopg.ClientCursor(conn).execute(
        load_sql("rules/_scope_window.sql"), {"since": since, "until": until}
    )


def run_started_at(conn: psycopg.Connection, run_id: int) -> datetime:
    started: datetime = scalar(conn, load_sql("runs/started.sql"), {"run_id": run_id})
    return started


def finish_run(url: str, run: DetectionRun, *, succeeded: bool) -> None:
    """Close the run (its first outcome stands) and drop the findings of runs older than the
    last ``KEEP_FINDING_RUNS``."""
    with connect(url) as conn:
        conn.execute(
            load_sql("runs/finish.sql"),
            {
                "status": "succeeded" if succeeded else "failed",
                "findings": run.total,
                "summary": Jsonb(run.counts),
                "run_id": run.run_id,
            },
        )
        conn.execute(load_sql("rules/_prune_findings.sql"), {"keep": KEEP_FINDING_RUNS})


def samples(url: str, run_id: int, limit: int) -> dict[str, list[int]]:
    """Per rule of a run, the first ``limit`` entity ids."""
    with connect(url) as conn:
        rows = conn.execute(
            load_sql("runs/samples.sql"), {"run_id": run_id, "samples": limit}
        ).fetchall()
    return {rule_id: list(ids) for rule_id, ids in rows}


def labelled_samples(url: str, run_id: int, limit: int) -> dict[str, list[str]]:
    """Per rule of a run, the first ``limit`` entities as people read them ("call 12 (company
    3)"), for Data Docs."""
    with connect(url) as conn:
        rows = conn.execute(
            load_sql("runs/labelled_samples.sql"), {"run_id": run_id, "samples": limit}
        ).fetchall()
    return {rule_id: list(labels) for rule_id, labels in rows}


def check_entities(
    url: str,
    *,
    call_ids: Iterable[int] = (),
    appointment_ids: Iterable[int] = (),
    rules: Sequence[Rule] = RULES,
) -> list[Finding]:
    """The findings of the given calls and appointments (and their linked rows), no writes.

    The same rule files as a run, with the entity scope: check-call, the review queue and the
    event path use it. Ordered by the registry, then entity id.
    """
    found: list[Finding] = []
    with connect(url) as conn:
        psycopg.ClientCursor(conn).execute(
            load_sql("rules/_scope_entities.sql"),
            {"call_ids": list(call_ids), "appointment_ids": list(appointment_ids)},
        )
        for rule in (r for r in rules if ScopeKind.ENTITY in r.scopes):
            rows = conn.execute(rule.query(ScopeKind.ENTITY)).fetchall()
            found += [
                Finding(rule, entity_type, entity_id, company_id, column, detail)
                for entity_type, entity_id, company_id, column, detail in sorted(
                    rows, key=lambda row: (row[1], row[3] or "")
                )
            ]
        conn.rollback()  # the scope's temp tables go with the session; nothing else was written
    return found


def check_call(url: str, call_id: int) -> list[Finding]:
    """Every rule that applies to one call and its live appointments (BEHAVIOUR §B.2 and more).

    A soft-deleted call has no findings of its own (an appointment pointing to it is the
    monitor's business); an unknown id is an error.
    """
    with connect(url) as conn:
        row = conn.execute("SELECT deleted_at IS NULL FROM calls WHERE id = %s", (call_id,))
        live = row.fetchone()
    if live is None:
        raise BookingGuardError(f"call {call_id} does not exist")
    return check_entities(url, call_ids=[call_id]) if live[0] else []


@dataclass(frozen=True)
class RunRecord:
    """A run as ``bg_check_runs`` keeps it."""

    run_id: int
    mode: str
    status: str
    started_at: datetime
    findings: int | None


def recent_runs(url: str, *, limit: int) -> list[RunRecord]:
    """The last ``limit`` runs, newest first."""
    with connect(url) as conn:
        rows = conn.execute(load_sql("runs/recent.sql"), {"limit": limit}).fetchall()
    return [RunRecord(*row) for row in rows]
