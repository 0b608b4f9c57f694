"""Settings from environment variables, validated once, with documented defaults."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import time
from urllib.parse import urlsplit

from booking_guard.errors import ConfigurationError

DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/booking_guard"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


@dataclass(frozen=True)
class Settings:
    """Where booking-guard finds its systems and how it notifies (environment, with defaults)."""

    database_url: str = DEFAULT_DATABASE_URL
    redis_url: str = DEFAULT_REDIS_URL
    slack_enabled: bool = True
    slack_conn_id: str = "slack_consistency"
    email_enabled: bool = False
    email_to: tuple[str, ...] = ()
    smtp_conn_id: str = "smtp_default"
    alert_cooldown_seconds: int = 300
    notify_min_severity: str = "warning"
    full_scan_at: time | None = time(1, 30)
    max_corrections: int = 500
    review_escalate_hours: int = 24

    @classmethod
    def from_env(cls, database_url: str | None = None) -> Settings:
        """Read the environment; an explicit ``database_url`` (``--database-url``) wins."""
        env = os.environ
        settings = cls(
            database_url=database_url
            or env.get("BOOKING_GUARD_DATABASE_URL", DEFAULT_DATABASE_URL),
            redis_url=env.get("BOOKING_GUARD_REDIS_URL", DEFAULT_REDIS_URL),
            slack_enabled=_bool(env, "DATA_CONSISTENCY_ALERT_SLACK", True),
            slack_conn_id=env.get("BOOKING_GUARD_SLACK_CONN_ID", "slack_consistency"),
            email_enabled=_bool(env, "DATA_CONSISTENCY_ALERT_EMAIL", False),
            email_to=tuple(
                a.strip()
                for a in env.get("DATA_CONSISTENCY_ALERT_EMAIL_TO", "").split(",")
                if a.strip()
            ),
            smtp_conn_id=env.get("BOOKING_GUARD_SMTP_CONN_ID", "smtp_default"),
            alert_cooldown_seconds=_int(env, "DATA_CONSISTENCY_ALERT_COOLDOWN_SECONDS", 300),
            notify_min_severity=env.get("DATA_CONSISTENCY_ALERT_MIN_SEVERITY", "warning"),
            full_scan_at=_time(env, "BOOKING_GUARD_FULL_SCAN_AT", time(1, 30)),
            max_corrections=_bounded(env, "BOOKING_GUARD_MAX_CORRECTIONS", 500, 1, 1_000_000),
            review_escalate_hours=_bounded(
                env, "BOOKING_GUARD_REVIEW_ESCALATE_HOURS", 24, 1, 24 * 30
            ),
        )
        settings.validate()
        return settings

    @classmethod
    def from_airflow(cls) -> Settings:
        """In a DAG task: as ``from_env``, but when ``BOOKING_GUARD_DATABASE_CONN_ID`` names an
        Airflow connection (``AIRFLOW_CONN_*`` works), the monitored database comes from it."""
        conn_id = os.environ.get("BOOKING_GUARD_DATABASE_CONN_ID")
        if not conn_id:
            return cls.from_env()
        from airflow.sdk import BaseHook

        try:
            uri = BaseHook.get_connection(conn_id).get_uri()
        except Exception as exc:
            raise ConfigurationError(
                f"BOOKING_GUARD_DATABASE_CONN_ID names connection {conn_id!r}, which cannot be"
                f" read: {exc}"
            ) from None
        return cls.from_env(uri)

    def validate(self) -> None:
        _require_url("BOOKING_GUARD_DATABASE_URL", self.database_url, {"postgresql", "postgres"})
        _require_url("BOOKING_GUARD_REDIS_URL", self.redis_url, {"redis", "rediss"})
        if self.email_enabled and not self.email_to:
            raise ConfigurationError(
                "DATA_CONSISTENCY_ALERT_EMAIL is on but DATA_CONSISTENCY_ALERT_EMAIL_TO is empty"
            )
        if self.alert_cooldown_seconds < 1:
            raise ConfigurationError("DATA_CONSISTENCY_ALERT_COOLDOWN_SECONDS must be 1 or more")
        if self.notify_min_severity not in SEVERITIES:
            raise ConfigurationError(
                f"DATA_CONSISTENCY_ALERT_MIN_SEVERITY must be one of {', '.join(SEVERITIES)},"
                f" got {self.notify_min_severity!r}"
            )

    @property
    def notify_severities(self) -> list[str]:
        """The severities that are sent, from the most severe down to the configured minimum."""
        return list(SEVERITIES[: SEVERITIES.index(self.notify_min_severity) + 1])


SEVERITIES = ("critical", "warning", "info")


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in ("1", "true", "yes", "on"):
        return True
    if raw.lower() in ("0", "false", "no", "off"):
        return False
    raise ConfigurationError(f"{name} must be true or false, got {raw!r}")


def _time(env: Mapping[str, str], name: str, default: time) -> time | None:
    """HH:MM (UTC); an empty value turns the feature off."""
    raw = env.get(name)
    if raw is None:
        return default
    if raw.strip() == "":
        return None
    try:
        return time.fromisoformat(raw.strip())
    except ValueError:
        raise ConfigurationError(f"{name} must be a time of day HH:MM (UTC), got {raw!r}") from None


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigurationError(f"{name} must be a whole number, got {raw!r}") from None


def _bounded(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    """A whole number in ``[low, high]``: a limit of 0 or of millions is a typo, not a choice."""
    value = _int(env, name, default)
    if not low <= value <= high:
        raise ConfigurationError(f"{name} must be between {low:,} and {high:,}, got {value:,}")
    return value


def _require_url(name: str, value: str, schemes: set[str]) -> None:
    parts = urlsplit(value)
    scheme = parts.scheme.split("+", 1)[0]
    if scheme not in schemes:
        raise ConfigurationError(
            f"{name} must be a {'/'.join(sorted(schemes))}:// URL, got scheme {parts.scheme!r}"
        )
    if scheme.startswith("postgres") and not parts.path.strip("/"):
        raise ConfigurationError(f"{name} must name a database (…/DBNAME)")
