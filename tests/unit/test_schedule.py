"""When the monitor's daily full scan runs: schedule maths, no database."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(
    ("start", "end", "at", "due"),
    [
        ("01:25", "01:30", "01:30", True),
        ("01:30", "01:35", "01:30", False),
        ("23:55", "00:00", "00:00", True),
        ("01:25", "01:30", None, False),
    ],
)
def test_the_daily_full_scan_falls_in_one_interval(start, end, at, due) -> None:
    from datetime import UTC, datetime, time

    from booking_guard.monitor import full_scan_due
    from booking_guard.settings import Settings

    def stamp(hhmm: str, day: int) -> datetime:
        return datetime(2026, 11, day, *map(int, hhmm.split(":")), tzinfo=UTC)

    interval_start = stamp(start, 2)
    interval_end = stamp(end, 3 if end < start else 2)
    settings = Settings(full_scan_at=time.fromisoformat(at) if at else None)
    assert full_scan_due(settings, interval_start, interval_end) is due
