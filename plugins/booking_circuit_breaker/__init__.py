"""Circuit breaker around the booking API (Cal.com) — package skeleton.

This is a stub for now: the package exists and is importable (by DAGs through Airflow's plugins
folder, and by the booking application after ``pip install``), but the breaker itself
(CLOSED -> OPEN -> HALF_OPEN, Redis shared state, PostgreSQL durable state) comes in its own
issue. It must never import ``booking_guard``: the booking application installs it alone.
"""

__all__: list[str] = []
