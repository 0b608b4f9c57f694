"""Metrics: the shared per-circuit counters (kept in Redis) in Prometheus' format.

Every process's calls add up in the circuit's hash: the scripts count the outcomes, rejections
and transitions they handle; the two the hot path handles without a script (a healthy success,
a rejection served from the process's cache) are counted in the process and added by its
background thread within a second. ``render`` turns the overview of
``CircuitBreaker.overview()`` into the text exposition format.
"""

from __future__ import annotations

import os
import threading
import time
import weakref
from collections import Counter
from collections.abc import Iterable

from booking_circuit_breaker.state import STATES, CircuitOverview

SHARED_COUNTERS = {
    "n_success": ("calls_total", {"outcome": "success"}),
    "n_failure": ("calls_total", {"outcome": "failure"}),
    "n_timeout": ("timeouts_total", {}),
    "n_rejected": ("rejected_total", {}),
    "n_open": ("transitions_total", {"to": "open"}),
    "n_half_open": ("transitions_total", {"to": "half_open"}),
    "n_closed": ("transitions_total", {"to": "closed"}),
}
HELP = {
    "state": ("gauge", "1 for the state a circuit is in, 0 for the others"),
    "consecutive_failures": ("gauge", "failures counted towards opening"),
    "calls_total": ("counter", "calls that ran, by outcome (all processes)"),
    "timeouts_total": ("counter", "calls cut at the breaker's timeout (counted as failures too)"),
    "rejected_total": ("counter", "calls rejected without running (open, or probes taken)"),
    "transitions_total": ("counter", "state transitions, by target state"),
    "shared_state_up": ("gauge", "1 when this process reaches the shared state in Redis"),
}
PREFIX = "booking_circuit_breaker_"
_ALL: weakref.WeakSet[LocalCounters] = weakref.WeakSet()  # reset in a forked child


class LocalCounters:
    """What this process saw (calls, rejections, degraded decisions), for tests and logs, and
    which of it the shared counters in Redis still lack."""

    def __init__(self) -> None:
        self._counts: Counter[tuple[str, str]] = Counter()
        self._lock = threading.Lock()
        self._unreported: Counter[tuple[str, str]] = Counter()
        self.unreported_since: float | None = None  # time.monotonic() of the oldest
        _ALL.add(self)

    def add(self, circuit_key: str, event: str, shared: str | None = None) -> bool:
        """Count ``event``; with ``shared``, also towards that shared counter until taken.
        True when it is the first count waiting to be reported (time to schedule a report)."""
        with self._lock:
            self._counts[circuit_key, event] += 1
            if shared is None:
                return False
            self._unreported[circuit_key, shared] += 1
            if self.unreported_since is not None:
                return False
            self.unreported_since = time.monotonic()
            return True

    def take_unreported(self) -> Counter[tuple[str, str]]:
        """The counts waiting for Redis, by (circuit key, shared counter); they are now taken."""
        with self._lock:
            taken, self._unreported = self._unreported, Counter()
            self.unreported_since = None
            return taken

    def put_back(self, counts: Counter[tuple[str, str]]) -> None:
        """Counts that could not be reported (Redis unreachable): they wait again."""
        with self._lock:
            self._unreported.update(counts)
            if self.unreported_since is None:
                self.unreported_since = time.monotonic()

    def _forked(self) -> None:
        """In a forked child: the parent reports what it counted; a lock some other thread
        held at the fork would never be released here."""
        self._lock = threading.Lock()
        self._unreported = Counter()
        self.unreported_since = None

    def get(self, circuit_key: str, event: str) -> int:
        return self._counts[circuit_key, event]

    def as_dict(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        with self._lock:
            for (key, event), n in sorted(self._counts.items()):
                out.setdefault(key, {})[event] = n
        return out


def _labels(labels: dict[str, str]) -> str:
    def esc(v: str) -> str:
        return v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")

    return "{" + ",".join(f'{k}="{esc(v)}"' for k, v in labels.items()) + "}"


def render(circuits: Iterable[CircuitOverview], shared_state_up: bool) -> str:
    """Prometheus text format (0.0.4) for the circuits of ``CircuitBreaker.overview()``."""
    samples: dict[str, list[str]] = {name: [] for name in HELP}
    for c in circuits:
        key = {"circuit": c["circuit_key"]}
        for state in STATES:
            samples["state"].append(
                f"{_labels({**key, 'state': state})} {int(c['state'] == state)}"
            )
        samples["consecutive_failures"].append(f"{_labels(key)} {c['failure_count']}")
        for field, (name, extra) in SHARED_COUNTERS.items():
            samples[name].append(f"{_labels({**key, **extra})} {c['counters'].get(field, 0)}")
    samples["shared_state_up"].append(f" {int(shared_state_up)}")
    lines = []
    for name, (kind, text) in HELP.items():
        lines += [f"# HELP {PREFIX}{name} {text}", f"# TYPE {PREFIX}{name} {kind}"]
        lines += [f"{PREFIX}{name}{sample}" for sample in samples[name]]
    return "\n".join(lines) + "\n"


def _after_fork_in_child() -> None:
    for counters in list(_ALL):
        counters._forked()


os.register_at_fork(after_in_child=_after_fork_in_child)
