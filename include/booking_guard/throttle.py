"""The notification cooldown: one message per key per cooldown, shared by every worker.

An atomic set-if-absent with expiry in Redis (a fast shared pre-check) and in PostgreSQL (the
authority, which also holds when Redis is down).
"""

from __future__ import annotations

import logging

import psycopg
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from booking_guard.db import database_name
from booking_guard.resources import load_sql
from booking_guard.settings import Settings

log = logging.getLogger(__name__)

REDIS_TIMEOUT_SECONDS = 0.5


class Throttle:
    """Set-if-absent with expiry, in Redis and PostgreSQL; PostgreSQL decides."""

    def __init__(self, settings: Settings, conn: psycopg.Connection) -> None:
        # Redis may be shared by several monitored databases: keys carry the database's name.
        self.prefix = f"booking_guard:{database_name(settings.database_url)}:"
        self.seconds = settings.alert_cooldown_seconds
        self.conn = conn
        self.redis = redis.Redis.from_url(
            settings.redis_url,
            socket_timeout=REDIS_TIMEOUT_SECONDS,
            socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
            retry=Retry(NoBackoff(), 0),
        )
        self.redis_ok = True

    @property
    def backend(self) -> str:
        return "redis" if self.redis_ok else "postgresql"

    def claim(self, key: str) -> bool:
        """True when the caller may send now (and the cooldown starts)."""
        if self.redis_ok:
            try:
                if not self.redis.set(self.prefix + key, "1", nx=True, ex=self.seconds):
                    return False
            except redis.RedisError as exc:
                log.warning("redis unavailable for throttling, using PostgreSQL: %s", exc)
                self.redis_ok = False
        row = self.conn.execute(
            load_sql("alerts/claim_throttle.sql"), {"key": key, "seconds": self.seconds}
        ).fetchone()
        return row is not None

    def release(self, key: str) -> None:
        """Give the slot back after a failed send, so the next run retries at once."""
        self.conn.execute(load_sql("alerts/release_throttle.sql"), {"key": key})
        if self.redis_ok:
            try:
                self.redis.delete(self.prefix + key)
            except redis.RedisError:
                self.redis_ok = False
