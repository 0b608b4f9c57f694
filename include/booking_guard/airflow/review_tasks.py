"""The bodies of ``manual_review_queue``'s tasks."""

from __future__ import annotations

from typing import Any

from booking_guard.airflow.connections import settings


def queue_new() -> int:
    """Queue the open alerts people must decide; the number of new items."""
    from booking_guard.review import enqueue

    return enqueue(settings().database_url)


def recheck_pending() -> dict[str, Any]:
    """Re-check pending items with their rules; resolve those now consistent."""
    from booking_guard.review import recheck

    return recheck(settings().database_url).summary()


def escalate_stale() -> int:
    """Escalate items pending too long, once, to Slack."""
    from booking_guard.review import escalate

    current = settings()
    return escalate(current.database_url, current)
