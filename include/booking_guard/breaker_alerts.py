"""Circuit breaker transitions as consistency alerts: opening raises one, closing resolves it.

The alert is an ordinary row of ``data_consistency_alerts`` (alert_type ``circuit_open``, entity
``circuit``, one open alert per circuit), so the monitor's notify step sends it, throttled per
(alert type, company) like every other alert.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Unpack

from booking_circuit_breaker import (
    BreakerConfigurationError,
    CircuitBreaker,
    ServiceOptions,
    StateChange,
)
from booking_guard.db import connect
from booking_guard.errors import ConfigurationError
from booking_guard.resources import load_sql
from booking_guard.settings import Settings


class BreakerAlerts:
    """A breaker listener writing the alert of an opened circuit and resolving it on close."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url

    def __call__(self, change: StateChange) -> None:
        if change.state == "open":
            stats = change.statistics
            metadata = {
                "circuit_key": change.circuit_key,
                "reason": change.reason,
                "previous_state": change.previous,
                "failure_count": stats["failure_count"],
                "opened_at": change.at.isoformat(),
                "source": change.source,
            }
            params = {
                "circuit_key": change.circuit_key,
                "company_id": change.company_id,
                "metadata": json.dumps(metadata),
            }
            sql = load_sql("breaker/open_alert.sql")
        elif change.state == "closed":
            params = {"circuit_key": change.circuit_key, "reason": change.reason}
            sql = load_sql("breaker/resolve_alert.sql")
        else:
            return
        with connect(self.database_url) as conn:
            conn.execute(sql, params)


def circuit_breaker(
    settings: Settings,
    *,
    clock: Callable[[], float] | None = None,
    **overrides: Unpack[ServiceOptions],
) -> CircuitBreaker:
    """The breaker booking-guard uses: its Redis and database, alerts on open."""
    try:
        breaker = CircuitBreaker(
            redis_url=settings.redis_url,
            database_url=settings.database_url,
            clock=clock,
            **overrides,
        )
    except BreakerConfigurationError as exc:
        raise ConfigurationError(str(exc)) from None
    breaker.add_listener(BreakerAlerts(settings.database_url))
    return breaker
