"""A distributed circuit breaker for the booking API (Cal.com and friends).

Closed → open → half-open per service key, shared by every process through Redis (one atomic
script per transition or counted failure, Redis' clock; a healthy call costs one HGET, a call to
an open circuit inside its cooldown none), transitions stored in PostgreSQL, a local breaker
while Redis is unreachable, call timeouts without signals. Installed and imported by the booking
application on its own: it imports neither Airflow nor booking_guard, only redis-py and psycopg.

    from booking_circuit_breaker import CircuitBreaker, CircuitOpenError

    breaker = CircuitBreaker()
    booking = breaker.execute("calcom", client.create_booking, payload)
"""

from booking_circuit_breaker.breaker import CircuitBreaker
from booking_circuit_breaker.errors import (
    BreakerConfigurationError,
    CircuitOpenError,
    CircuitTimeoutError,
)
from booking_circuit_breaker.retry import backoff_delay, retry, retry_async
from booking_circuit_breaker.settings import (
    BreakerOptions,
    BreakerSettings,
    ServiceOptions,
    ServiceSettings,
    counts_every_exception,
    counts_server_errors,
)
from booking_circuit_breaker.state import (
    CLOSED,
    HALF_OPEN,
    OPEN,
    CircuitOverview,
    Snapshot,
    Statistics,
)
from booking_circuit_breaker.store import StateChange

__all__ = [
    "CLOSED",
    "HALF_OPEN",
    "OPEN",
    "BreakerConfigurationError",
    "BreakerOptions",
    "BreakerSettings",
    "CircuitBreaker",
    "CircuitOpenError",
    "CircuitOverview",
    "CircuitTimeoutError",
    "ServiceOptions",
    "ServiceSettings",
    "Snapshot",
    "StateChange",
    "Statistics",
    "backoff_delay",
    "counts_every_exception",
    "counts_server_errors",
    "retry",
    "retry_async",
]
