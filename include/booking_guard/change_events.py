"""Change events: the ids of calls and appointments that statements changed, published by the
triggers of migration 0007 (``bg_change_events`` + NOTIFY on ``booking_guard_changes``).

The event path drains them and checks just those entities; a batch too large for that (a bulk
load) is left to the 5-minute incremental run, which finds it from ``updated_at`` anyway.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from booking_guard.db import connect
from booking_guard.resources import load_sql

CHANNEL = "booking_guard_changes"
# Above this many distinct entities, checking them one by one costs more than the window scan.
MAX_EVENT_ENTITIES = 10_000


@dataclass
class ChangeBatch:
    """What one drain took: the distinct entities, and their ids unless there were too many."""

    entities: int
    call_ids: list[int] = field(default_factory=list)
    appointment_ids: list[int] = field(default_factory=list)

    @property
    def left_to_incremental(self) -> bool:
        return self.entities > MAX_EVENT_ENTITIES


def drain(url: str) -> ChangeBatch:
    """Take every pending change event, once: a drained event is gone even if the run that
    drained it fails (the incremental run is the safety net)."""
    with connect(url) as conn:
        row = conn.execute(
            load_sql("events/drain.sql"), {"max_entities": MAX_EVENT_ENTITIES}
        ).fetchone()
    entities, call_ids, appointment_ids = row if row else (0, [], [])
    return ChangeBatch(int(entities), list(call_ids), list(appointment_ids))
