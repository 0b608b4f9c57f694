"""Metrics: the shared per-circuit counters (kept in Redis by the scripts) in Prometheus' format.

The scripts count calls by outcome, rejections and transitions inside the circuit's hash, so
every process's calls add up in one place at no extra round trip; ``render`` turns the overview
of ``CircuitBreaker.overview()`` into the text exposition format.
"""

from __future__ import annotations

import threading
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


class LocalCounters:
    """What this process saw (calls, rejections, degraded decisions), for tests and logs."""

    def __init__(self) -> None:
        self._counts: Counter[tuple[str, str]] = Counter()
        self._lock = threading.Lock()

    def add(self, circuit_key: str, event: str) -> None:
        with self._lock:
            self._counts[circuit_key, event] += 1

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
