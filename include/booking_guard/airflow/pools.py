"""The Airflow pool of the DAGs' database-heavy tasks, so that a slow monitored database is not
hit by every DAG at once (full scans, corrections, the review re-check, the daily report).

Airflow never schedules a task whose pool does not exist, so the pool is named by a setting, not
assumed: ``BOOKING_GUARD_DB_POOL`` (``make airflow`` and docker compose set ``booking_guard_db``
and create it with ``BOOKING_GUARD_DB_POOL_SLOTS`` slots, default 2). Unset, the tasks share
Airflow's ``default_pool`` like any other task. Read when a DAG file is parsed.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from booking_guard.settings import int_setting

DEFAULT_POOL = "default_pool"
POOL_SLOTS = 2


def database_pool(env: Mapping[str, str] = os.environ) -> str:
    """The pool name for database-heavy tasks."""
    return env.get("BOOKING_GUARD_DB_POOL", "").strip() or DEFAULT_POOL


def pool_slots(env: Mapping[str, str] = os.environ) -> int:
    """How many database-heavy tasks may run at once, over every DAG of the project."""
    return int_setting(env, "BOOKING_GUARD_DB_POOL_SLOTS", POOL_SLOTS, bounds=(1, 128))
