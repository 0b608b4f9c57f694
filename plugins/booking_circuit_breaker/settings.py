"""Breaker settings: environment defaults, per-service overrides; explicit arguments win."""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TypedDict, TypeVar, Unpack

from booking_circuit_breaker.errors import BreakerConfigurationError

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
T = TypeVar("T")


def counts_every_exception(exc: BaseException) -> bool:
    """The default failure predicate: any ``Exception`` (not a cancellation or an interrupt)."""
    return isinstance(exc, Exception)


def counts_server_errors(exc: BaseException) -> bool:
    """For HTTP clients: 5xx, 429, timeouts and connection errors count; other 4xx do not.

    Works with any exception carrying ``response.status_code`` (httpx, requests) or
    ``status_code`` itself; exceptions without a status count as failures.
    """
    if not isinstance(exc, Exception):
        return False
    response = getattr(exc, "response", None)
    status = getattr(response, "status_code", None) or getattr(exc, "status_code", None)
    if isinstance(status, int):
        return status >= 500 or status == 429
    return True


@dataclass(frozen=True)
class ServiceSettings:
    """How one service's breaker behaves (BEHAVIOUR §C defaults)."""

    failure_threshold: int = 3
    cooldown_seconds: float = 30.0
    success_threshold: int = 2
    timeout_seconds: float | None = 10.0
    # While Redis is unreachable: True = a local breaker decides, False = reject every call.
    fail_open: bool = True
    failure_predicate: Callable[[BaseException], bool] = counts_every_exception

    def validate(self) -> None:
        for name in ("failure_threshold", "success_threshold"):
            if getattr(self, name) < 1:
                raise BreakerConfigurationError(f"{name} must be 1 or more")
        if self.cooldown_seconds <= 0:
            raise BreakerConfigurationError("cooldown_seconds must be positive")
        if self.timeout_seconds is not None and self.timeout_seconds <= 0:
            raise BreakerConfigurationError("timeout_seconds must be positive (None: no timeout)")

    @property
    def lease_seconds(self) -> float:
        """How long a half-open probe holds its slot: the call timeout plus 5 s (as §C)."""
        return (self.timeout_seconds or 10.0) + 5.0


class ServiceOptions(TypedDict, total=False):
    """Keyword overrides of ``ServiceSettings``; None keeps the environment's value."""

    failure_threshold: int | None
    cooldown_seconds: float | None
    success_threshold: int | None
    timeout_seconds: float | None  # 0 turns the timeout off
    fail_open: bool | None
    failure_predicate: Callable[[BaseException], bool] | None


class BreakerOptions(ServiceOptions, total=False):
    """Keyword overrides of ``BreakerSettings.from_env``; None keeps the environment's value."""

    redis_url: str | None
    database_url: str | None
    services: Mapping[str, ServiceSettings] | None
    redis_timeout_seconds: float | None
    redis_retry_seconds: float | None
    state_cache_seconds: float | None
    state_ttl_seconds: int | None


@dataclass(frozen=True)
class BreakerSettings:
    """Connections, defaults for every service, and per-service overrides by key pattern."""

    redis_url: str = DEFAULT_REDIS_URL
    database_url: str | None = None
    defaults: ServiceSettings = field(default_factory=ServiceSettings)
    # fnmatch patterns ("calcom", "appointment_booking:service:*"); the first match wins.
    services: Mapping[str, ServiceSettings] = field(default_factory=dict)
    redis_timeout_seconds: float = 0.25
    # After Redis failed, how often the background thread tries it again.
    redis_retry_seconds: float = 1.0
    # How long a process trusts a "closed" or an "open inside its cooldown" it learned from
    # Redis without asking again (0 = ask on every call); always below half the cooldown. A
    # force_close or force_open made elsewhere is seen here within it.
    state_cache_seconds: float = 1.0
    state_ttl_seconds: int = 86_400

    @classmethod
    def from_env(
        cls, env: Mapping[str, str] | None = None, **overrides: Unpack[BreakerOptions]
    ) -> BreakerSettings:
        """Read ``CIRCUIT_BREAKER_*`` and ``BOOKING_GUARD_*_URL``; explicit values override."""
        env = os.environ if env is None else env
        unknown = overrides.keys() - BreakerOptions.__optional_keys__
        if unknown:
            raise TypeError(f"unknown breaker setting(s): {', '.join(sorted(unknown))}")
        defaults = ServiceSettings(
            failure_threshold=_given(
                overrides.get("failure_threshold"),
                int(_number(env, "CIRCUIT_BREAKER_FAILURE_THRESHOLD", 3)),
            ),
            cooldown_seconds=_given(
                overrides.get("cooldown_seconds"),
                _number(env, "CIRCUIT_BREAKER_COOLDOWN_SECONDS", 30.0),
            ),
            success_threshold=_given(
                overrides.get("success_threshold"),
                int(_number(env, "CIRCUIT_BREAKER_SUCCESS_THRESHOLD", 2)),
            ),
            # 0 turns the timeout off
            timeout_seconds=_given(
                overrides.get("timeout_seconds"),
                _number(env, "CIRCUIT_BREAKER_TIMEOUT_SECONDS", 10.0),
            )
            or None,
            fail_open=_given(
                overrides.get("fail_open"), _flag(env, "CIRCUIT_BREAKER_FAIL_OPEN", True)
            ),
            failure_predicate=_given(overrides.get("failure_predicate"), counts_every_exception),
        )
        settings = cls(
            redis_url=_given(
                overrides.get("redis_url"), env.get("BOOKING_GUARD_REDIS_URL") or DEFAULT_REDIS_URL
            ),
            database_url=_given(
                overrides.get("database_url"), env.get("BOOKING_GUARD_DATABASE_URL") or None
            ),
            defaults=defaults,
            services=_given(overrides.get("services"), {}),
            redis_timeout_seconds=_given(
                overrides.get("redis_timeout_seconds"),
                _number(env, "CIRCUIT_BREAKER_REDIS_TIMEOUT_SECONDS", 0.25),
            ),
            redis_retry_seconds=_given(
                overrides.get("redis_retry_seconds"), cls.redis_retry_seconds
            ),
            state_cache_seconds=_given(
                overrides.get("state_cache_seconds"),
                _number(env, "CIRCUIT_BREAKER_STATE_CACHE_SECONDS", 1.0),
            ),
            state_ttl_seconds=_given(overrides.get("state_ttl_seconds"), cls.state_ttl_seconds),
        )
        settings.validate()
        return settings

    def validate(self) -> None:
        self.defaults.validate()
        for service in self.services.values():
            service.validate()
        if not self.redis_url.startswith(("redis://", "rediss://", "unix://")):
            raise BreakerConfigurationError("BOOKING_GUARD_REDIS_URL must be a redis:// URL")
        if self.redis_timeout_seconds <= 0:
            raise BreakerConfigurationError(
                "CIRCUIT_BREAKER_REDIS_TIMEOUT_SECONDS must be positive"
            )

    def for_key(self, circuit_key: str) -> ServiceSettings:
        for pattern, service in self.services.items():
            if fnmatch.fnmatchcase(circuit_key, pattern):
                return service
        return self.defaults

    def cache_seconds(self, service: ServiceSettings) -> float:
        return max(0.0, min(self.state_cache_seconds, service.cooldown_seconds / 2))


def _given(value: T | None, default: T) -> T:
    """An explicit argument, or ``default`` when it was left out (None)."""
    return default if value is None else value


def _number(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise BreakerConfigurationError(f"{name} must be a number, got {raw!r}") from None
    if value < 0:
        raise BreakerConfigurationError(f"{name} must not be negative, got {raw!r}")
    return value


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = (env.get(name) or "").strip().lower()
    if raw == "":
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise BreakerConfigurationError(f"{name} must be true or false, got {raw!r}")
