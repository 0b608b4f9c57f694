"""The whole loop at a glance: how consistent the data was before booking-guard acted and after.

Before is the first successful full scan, after the last one; in between, corrections fixed
what they safely could and the rest went to the review queue. The demo ends with this line.
"""

from __future__ import annotations

from dataclasses import dataclass

from booking_guard.db import connect
from booking_guard.detection import require_monitor_tables
from booking_guard.errors import BookingGuardError
from booking_guard.resources import load_sql


@dataclass(frozen=True)
class Consistency:
    run_id: int
    calls: int
    inconsistent: int | None  # None: the run's findings were pruned

    @property
    def rate(self) -> float | None:
        """Share of live calls without a finding, in percent (100 for no calls)."""
        if self.inconsistent is None:
            return None
        return 100.0 if self.calls == 0 else 100.0 * (self.calls - self.inconsistent) / self.calls


@dataclass(frozen=True)
class LoopSummary:
    before: Consistency
    after: Consistency
    corrected: dict[str, int]
    queued_by_priority: dict[int, int]

    def line(self) -> str:
        def rate(c: Consistency) -> str:
            return "n/a (findings pruned)" if c.rate is None else f"{c.rate:.2f} %"

        corrected = ", ".join(f"{rule} {n:,}" for rule, n in self.corrected.items()) or "none"
        queued = ", ".join(f"p{p} {n:,}" for p, n in self.queued_by_priority.items()) or "none"
        return (
            f"consistency {rate(self.before)} (run {self.before.run_id}) → {rate(self.after)}"
            f" (run {self.after.run_id}) of {self.after.calls:,} live calls;"
            f" corrected: {corrected}; queued for review: {queued}"
        )


def summarize(url: str) -> LoopSummary:
    """Before and after, from the first and the last successful full scan."""
    with connect(url) as conn:
        require_monitor_tables(conn)
        first, last = conn.execute(load_sql("loop/full_runs.sql")).fetchone() or (None, None)
        if first is None or last is None:
            raise BookingGuardError("no successful full scan yet: run `booking-guard check --full`")

        def consistency(run_id: int) -> Consistency:
            row = conn.execute(load_sql("loop/consistency.sql"), {"run_id": run_id}).fetchone()
            calls, inconsistent = row or (0, None)
            return Consistency(run_id, calls, inconsistent)

        corrected: dict[str, int] = dict(conn.execute(load_sql("loop/corrections.sql")).fetchall())
        queued: dict[int, int] = dict(conn.execute(load_sql("loop/queue.sql")).fetchall())
        return LoopSummary(consistency(first), consistency(last), corrected, queued)
