"""Settings inside an Airflow task: connections (``AIRFLOW_CONN_*`` works) override the env."""

from __future__ import annotations

import os

from booking_guard.errors import ConfigurationError
from booking_guard.settings import Settings


def settings() -> Settings:
    """As ``Settings.from_env``, but when ``BOOKING_GUARD_DATABASE_CONN_ID`` names an Airflow
    connection, the monitored database comes from it."""
    conn_id = os.environ.get("BOOKING_GUARD_DATABASE_CONN_ID")
    if not conn_id:
        return Settings.from_env()
    from airflow.sdk import BaseHook

    try:
        uri = BaseHook.get_connection(conn_id).get_uri()
    except Exception as exc:
        raise ConfigurationError(
            f"BOOKING_GUARD_DATABASE_CONN_ID names connection {conn_id!r}, which cannot be"
            f" read: {exc}"
        ) from None
    return Settings.from_env(uri)
