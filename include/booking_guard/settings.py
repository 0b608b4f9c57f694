"""Settings from environment variables, validated once, with documented defaults."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import time
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers

from booking_guard.errors import ConfigurationError
from booking_guard.severity import Severity

DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/booking_guard"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
# The booking app serves German businesses: their callers write numbers nationally (0170 …,
# 030 …), which only a DE reading recognises, and a DE national number needs its leading 0, so a
# bare id such as 1234567 is never taken for one (under US rules many 10-digit ids would be).
DEFAULT_PHONE_REGION = "DE"
DEFAULT_TIMEZONE = "UTC"
DEFAULT_REPORT_DIR = "var/reports"


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
    notify_min_severity: Severity = Severity.WARNING
    full_scan_at: time | None = time(1, 30)
    rule_workers: int = 2
    notify_deadline_seconds: int = 120
    max_pending_minutes: int = 30
    phone_region: str = DEFAULT_PHONE_REGION
    max_corrections: int = 500
    review_escalate_hours: int = 24
    timezone: str = DEFAULT_TIMEZONE
    report_base_url: str = ""
    report_dir: Path = Path(DEFAULT_REPORT_DIR)

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
            alert_cooldown_seconds=int_setting(
                env, "DATA_CONSISTENCY_ALERT_COOLDOWN_SECONDS", 300, bounds=(1, 7 * 24 * 3600)
            ),
            notify_min_severity=_severity(env, "DATA_CONSISTENCY_ALERT_MIN_SEVERITY"),
            full_scan_at=_time(env, "BOOKING_GUARD_FULL_SCAN_AT", time(1, 30)),
            rule_workers=int_setting(env, "BOOKING_GUARD_RULE_WORKERS", 2, bounds=(1, 32)),
            notify_deadline_seconds=int_setting(
                env, "DATA_CONSISTENCY_ALERT_DEADLINE_SECONDS", 120, bounds=(5, 3600)
            ),
            max_pending_minutes=int_setting(
                env, "DATA_CONSISTENCY_ALERT_MAX_PENDING_MINUTES", 30, bounds=(1, 7 * 24 * 60)
            ),
            phone_region=phone_region(env),
            max_corrections=int_setting(
                env, "BOOKING_GUARD_MAX_CORRECTIONS", 500, bounds=(1, 1_000_000)
            ),
            review_escalate_hours=int_setting(
                env, "BOOKING_GUARD_REVIEW_ESCALATE_HOURS", 24, bounds=(1, 24 * 30)
            ),
            timezone=timezone_name(env),
            report_base_url=env.get("BOOKING_GUARD_REPORT_BASE_URL", "").strip().rstrip("/"),
            report_dir=Path(env.get("BOOKING_GUARD_REPORT_DIR") or DEFAULT_REPORT_DIR),
        )
        settings.validate()
        return settings

    def validate(self) -> None:
        _require_url("BOOKING_GUARD_DATABASE_URL", self.database_url, {"postgresql", "postgres"})
        _require_url("BOOKING_GUARD_REDIS_URL", self.redis_url, {"redis", "rediss"})
        if self.report_base_url:
            _require_url("BOOKING_GUARD_REPORT_BASE_URL", self.report_base_url, {"http", "https"})
            if not urlsplit(self.report_base_url).netloc:
                raise ConfigurationError("BOOKING_GUARD_REPORT_BASE_URL must name a host")
        if self.email_enabled and not self.email_to:
            raise ConfigurationError(
                "DATA_CONSISTENCY_ALERT_EMAIL is on but DATA_CONSISTENCY_ALERT_EMAIL_TO is empty"
            )

    @property
    def notify_severities(self) -> list[Severity]:
        """The severities that are sent, from the most severe down to the configured minimum."""
        return self.notify_min_severity.and_above()


def phone_region(env: Mapping[str, str] = os.environ) -> str:
    """BOOKING_GUARD_PHONE_REGION: how numbers written without a country code are read.

    An unknown region would silently stop masking national numbers, so it is an error.
    """
    raw = env.get("BOOKING_GUARD_PHONE_REGION") or DEFAULT_PHONE_REGION
    region = raw.strip().upper()
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise ConfigurationError(
            f"BOOKING_GUARD_PHONE_REGION must be a region code such as DE, AT or US, got {raw!r}"
        )
    return region


def timezone_name(env: Mapping[str, str] = os.environ) -> str:
    """BOOKING_GUARD_TIMEZONE: the IANA zone whose days the daily report covers and whose
    02:00 schedules it. A zone the system does not know is an error, not a silent UTC."""
    raw = (env.get("BOOKING_GUARD_TIMEZONE") or DEFAULT_TIMEZONE).strip()
    try:
        ZoneInfo(raw)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigurationError(
            f"BOOKING_GUARD_TIMEZONE must be an IANA time zone such as UTC or Europe/Berlin,"
            f" got {raw!r}"
        ) from None
    return raw


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


def int_setting(env: Mapping[str, str], name: str, default: int, *, bounds: tuple[int, int]) -> int:
    """A whole number within ``bounds``: an absurd value is a typo, named in the error."""
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    low, high = bounds
    try:
        value = int(raw)
    except ValueError:
        raise ConfigurationError(f"{name} must be a whole number, got {raw!r}") from None
    if not low <= value <= high:
        raise ConfigurationError(f"{name} must be between {low:,} and {high:,}, got {value:,}")
    return value


def _severity(env: Mapping[str, str], name: str) -> Severity:
    raw = env.get(name) or Severity.WARNING.value
    try:
        return Severity(raw)
    except ValueError:
        allowed = ", ".join(Severity)
        raise ConfigurationError(f"{name} must be one of {allowed}, got {raw!r}") from None


def _require_url(name: str, value: str, schemes: set[str]) -> None:
    parts = urlsplit(value)
    scheme = parts.scheme.split("+", 1)[0]
    if scheme not in schemes:
        raise ConfigurationError(
            f"{name} must be a {'/'.join(sorted(schemes))}:// URL, got scheme {parts.scheme!r}"
        )
    if scheme.startswith("postgres") and not parts.path.strip("/"):
        raise ConfigurationError(f"{name} must name a database (…/DBNAME)")
