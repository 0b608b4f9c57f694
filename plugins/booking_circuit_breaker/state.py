"""One breaker's state as every backend reports it, and the local state machine.

``LocalCircuit`` is the in-process twin of the Redis scripts in ``lua/``: it decides while Redis is
unreachable, seeded from the durable copy in PostgreSQL. Both follow BEHAVIOUR §C with the
original's defects fixed (§G-12..16).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TypedDict

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"
STATES = (CLOSED, OPEN, HALF_OPEN)


class Statistics(TypedDict):
    """The contract of ``get_statistics`` (BEHAVIOUR §C.4); datetimes in UTC, None = never."""

    circuit_key: str
    state: str
    failure_count: int
    success_count: int
    last_failure_at: datetime | None
    opened_at: datetime | None
    closed_at: datetime | None


class CircuitOverview(Statistics):
    """A row of ``CircuitBreaker.overview()``: where it was read and the shared counters."""

    source: str  # "redis", "postgresql" or "local"
    counters: dict[str, int]


@dataclass(frozen=True)
class Snapshot:
    """A circuit as one backend saw it; times in epoch milliseconds (None = never)."""

    circuit_key: str
    state: str = CLOSED
    generation: int = 0
    failures: int = 0
    successes: int = 0
    last_failure_ms: int | None = None
    opened_at_ms: int | None = None
    closed_at_ms: int | None = None
    forced: bool = False

    def statistics(self) -> Statistics:
        return {
            "circuit_key": self.circuit_key,
            "state": self.state,
            "failure_count": self.failures,
            "success_count": self.successes,
            "last_failure_at": _datetime(self.last_failure_ms),
            "opened_at": _datetime(self.opened_at_ms),
            "closed_at": _datetime(self.closed_at_ms),
        }


@dataclass(frozen=True)
class Verdict:
    """What a backend answered: admit / probe / reject / busy / recorded / stale / forced.

    ``snapshot`` holds state and generation always, the rest only with a transition (the
    Redis scripts keep the hot path's reply short)."""

    verdict: str
    snapshot: Snapshot
    retry_after: float = 0.0
    transition: str | None = None
    previous: str | None = None
    now_ms: int = 0


# A transition the local circuit made: (new state, previous state).
Transition = tuple[str, str]


def _datetime(ms: int | None) -> datetime | None:
    return None if ms is None else datetime.fromtimestamp(ms / 1000, UTC)


def to_ms(value: datetime | None) -> int | None:
    return None if value is None else round(value.timestamp() * 1000)


class LocalCircuit:
    """The breaker of one key inside this process, for while Redis is unreachable."""

    def __init__(self, snapshot: Snapshot) -> None:
        self.s = snapshot
        self.leases: dict[str, int] = {}

    def _go(self, state: str, now: int) -> Transition:
        previous = self.s.state
        s = replace(self.s, state=state, generation=self.s.generation + 1, successes=0)
        if state == OPEN:
            s = replace(s, opened_at_ms=now)
        elif state == CLOSED:
            s = replace(
                s,
                closed_at_ms=now,
                opened_at_ms=None,
                failures=0,
                last_failure_ms=None,
                forced=False,
            )
        self.s = s
        self.leases.clear()
        return state, previous

    def _verdict(
        self, verdict: str, now: int, change: Transition | None = None, retry_ms: float = 0
    ) -> Verdict:
        state, previous = (None, None) if change is None else change
        return Verdict(verdict, self.s, max(0.0, retry_ms / 1000), state, previous, now)

    def admit(
        self, now: int, cooldown_ms: int, threshold: int, lease_ms: int, token: str
    ) -> Verdict:
        change: Transition | None = None
        if self.s.state == OPEN:
            wait = cooldown_ms if self.s.forced else (self.s.opened_at_ms or 0) + cooldown_ms - now
            if wait > 0:
                return self._verdict("reject", now, retry_ms=wait)
            change = self._go(HALF_OPEN, now)
        if self.s.state == HALF_OPEN:
            self.leases = {t: until for t, until in self.leases.items() if until > now}
            if self.s.successes + len(self.leases) >= threshold:
                return self._verdict("busy", now, change, min(self.leases.values()) - now)
            self.leases[token] = now + lease_ms
            return self._verdict("probe", now, change)
        return self._verdict("admit", now, change)

    def success(
        self, now: int, generation: int | None, threshold: int, token: str | None
    ) -> Verdict:
        if generation is not None and generation != self.s.generation:
            return self._verdict("stale", now)
        change: Transition | None = None
        if self.s.state == HALF_OPEN:
            self.leases.pop(token or "", None)
            self.s = replace(self.s, successes=self.s.successes + 1)
            if self.s.successes >= threshold:
                change = self._go(CLOSED, now)
        elif self.s.state == CLOSED:
            self.s = replace(self.s, failures=0, last_failure_ms=None)
        return self._verdict("recorded", now, change)

    def failure(
        self, now: int, generation: int | None, threshold: int, token: str | None
    ) -> Verdict:
        if generation is not None and generation != self.s.generation:
            return self._verdict("stale", now)
        change: Transition | None = None
        if self.s.state != OPEN:
            self.s = replace(self.s, failures=self.s.failures + 1, last_failure_ms=now)
            if self.s.state == HALF_OPEN or self.s.failures >= threshold:
                change = self._go(OPEN, now)
        return self._verdict("recorded", now, change)

    def force(self, now: int, action: str) -> Verdict:
        if action == "open":
            change = self._go(OPEN, now)
            self.s = replace(self.s, forced=True)
        else:
            change = self._go(CLOSED, now)
            if action == "reset":
                self.s = replace(self.s, closed_at_ms=None)
        return self._verdict("forced", now, change)

    def release(self, token: str) -> None:
        self.leases.pop(token, None)
