"""Settings from environment variables, validated once, with documented defaults."""

from __future__ import annotations

import os
from dataclasses import dataclass
from urllib.parse import urlsplit

from booking_guard.errors import ConfigurationError

DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/booking_guard"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


@dataclass(frozen=True)
class Settings:
    """Where booking-guard finds the monitored database and Redis."""

    database_url: str = DEFAULT_DATABASE_URL
    redis_url: str = DEFAULT_REDIS_URL

    @classmethod
    def from_env(cls, database_url: str | None = None) -> Settings:
        """Read the environment; an explicit ``database_url`` (``--database-url``) wins."""
        settings = cls(
            database_url=database_url
            or os.environ.get("BOOKING_GUARD_DATABASE_URL", DEFAULT_DATABASE_URL),
            redis_url=os.environ.get("BOOKING_GUARD_REDIS_URL", DEFAULT_REDIS_URL),
        )
        settings.validate()
        return settings

    def validate(self) -> None:
        _require_url("BOOKING_GUARD_DATABASE_URL", self.database_url, {"postgresql", "postgres"})
        _require_url("BOOKING_GUARD_REDIS_URL", self.redis_url, {"redis", "rediss"})


def _require_url(name: str, value: str, schemes: set[str]) -> None:
    parts = urlsplit(value)
    scheme = parts.scheme.split("+", 1)[0]
    if scheme not in schemes:
        raise ConfigurationError(
            f"{name} must be a {'/'.join(sorted(schemes))}:// URL, got scheme {parts.scheme!r}"
        )
    if scheme.startswith("postgres") and not parts.path.strip("/"):
        raise ConfigurationError(f"{name} must name a database (…/DBNAME)")
