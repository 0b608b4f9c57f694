"""The booking application's reference schema, for demo, test and benchmark databases only."""

from __future__ import annotations

from booking_guard.db import connect
from booking_guard.resources import load_sql


def install(url: str) -> None:
    """Create the app tables unless they exist (idempotent). Never run against production."""
    with connect(url) as conn:
        conn.execute(load_sql("app_schema.sql"))
