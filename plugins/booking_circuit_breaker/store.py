"""Durable state in PostgreSQL (``circuit_breaker_states``), written off the hot path.

Only transitions and manual overrides are written, by a background thread, which then calls the
listeners; the table is read back when Redis lost a circuit or is unreachable.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Generic, TypeVar
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg.rows import TupleRow

from booking_circuit_breaker.state import Snapshot, Statistics, to_ms

log = logging.getLogger(__name__)
SQL_DIR = Path(__file__).with_name("sql")
CONNECT_TIMEOUT_SECONDS = 2


@cache
def _sql(name: str) -> str:
    return (SQL_DIR / name).read_text()


@dataclass(frozen=True)
class StateChange:
    """A transition or manual override, as listeners receive it (on the background thread)."""

    circuit_key: str
    company_id: int | None
    state: str
    previous: str | None
    reason: str
    at: datetime
    source: str  # "redis" (shared) or "local" (Redis unreachable)
    snapshot: Snapshot

    @property
    def statistics(self) -> Statistics:
        return self.snapshot.statistics()


class DurableStore:
    """``circuit_breaker_states`` through one autocommit connection, reopened after errors."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.url = urlunsplit(parts._replace(scheme=parts.scheme.split("+", 1)[0]))
        self._conn: psycopg.Connection[TupleRow] | None = None
        self._lock = threading.Lock()

    def _execute(self, sql: str, params: Mapping[str, object]) -> list[TupleRow]:
        with self._lock:
            if self._conn is None or self._conn.closed:
                self._conn = psycopg.connect(
                    self.url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_SECONDS
                )
            try:
                cursor = self._conn.execute(sql, params)
                return cursor.fetchall() if cursor.description else []
            except psycopg.OperationalError:
                self._conn.close()
                raise

    def save(self, change: StateChange) -> None:
        s = change.snapshot
        stats = s.statistics()
        self._execute(
            _sql("upsert_state.sql"),
            {
                "company_id": change.company_id,
                "circuit_key": change.circuit_key,
                "state": s.state,
                "failure_count": s.failures,
                "success_count": s.successes,
                "last_failure_at": stats["last_failure_at"],
                "opened_at": stats["opened_at"],
                "closed_at": stats["closed_at"],
                "metadata": json.dumps(
                    {
                        "generation": s.generation,
                        "forced": s.forced,
                        "transition": {
                            "to": change.state,
                            "from": change.previous,
                            "reason": change.reason,
                            "at": change.at.isoformat(),
                            "source": change.source,
                        },
                    }
                ),
            },
        )

    def load(self, circuit_key: str | None = None) -> list[Snapshot]:
        rows = self._execute(_sql("load_states.sql"), {"circuit_key": circuit_key})
        return [
            Snapshot(
                circuit_key=key,
                state=state,
                generation=generation,
                failures=failures,
                successes=successes,
                last_failure_ms=to_ms(last_failure),
                opened_at_ms=to_ms(opened),
                closed_at_ms=to_ms(closed),
                forced=forced,
            )
            for (
                key,
                state,
                failures,
                successes,
                last_failure,
                opened,
                closed,
                generation,
                forced,
            ) in rows
        ]

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()


class _Stop:
    """The item that ends the keeper's thread."""


_STOP = _Stop()
Item = TypeVar("Item")


class Keeper(Generic[Item]):
    """A daemon thread that handles queued work in order and calls ``tick`` between items.

    ``tick`` returns how long to wait for the next item (None: until one arrives); the breaker
    uses it to retry Redis while Redis is down. Started lazily, once per process (fork-safe).
    """

    def __init__(self, handle: Callable[[Item], None], tick: Callable[[], float | None]) -> None:
        self._handle = handle
        self._tick = tick
        # Besides work: None (call ``tick`` now), an Event (a flush) and _STOP.
        self._queue: queue.Queue[Item | threading.Event | _Stop | None] = queue.Queue()
        self._pid: int | None = None
        self._start_lock = threading.Lock()

    def _ensure_started(self) -> None:
        if self._pid == os.getpid():
            return
        with self._start_lock:
            if self._pid != os.getpid():
                self._queue = queue.Queue()
                threading.Thread(
                    target=self._loop, name="circuit-breaker-keeper", daemon=True
                ).start()
                self._pid = os.getpid()

    def submit(self, item: Item) -> None:
        self._ensure_started()
        self._queue.put(item)

    def wake(self) -> None:
        """Make the thread call ``tick`` now (used when Redis was just lost)."""
        self._ensure_started()
        self._queue.put(None)

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until everything submitted so far was handled; False on timeout."""
        if self._pid != os.getpid():
            return True
        done = threading.Event()
        self._queue.put(done)
        return done.wait(timeout)

    def stop(self) -> None:
        if self._pid == os.getpid():
            self._queue.put(_STOP)
            self._pid = None

    def _loop(self) -> None:
        wait: float | None = None
        while True:
            try:
                item = self._queue.get(timeout=wait)
            except queue.Empty:
                item = None
            if isinstance(item, _Stop):
                return
            if isinstance(item, threading.Event):
                item.set()
            elif item is not None:
                try:
                    self._handle(item)
                except Exception:  # a listener or the database must never kill the thread
                    log.exception("circuit breaker background work failed")
            try:
                wait = self._tick()
            except Exception:
                log.exception("circuit breaker background check failed")
                wait = 1.0
