"""Settings: every bad value is one clear error naming the variable."""

from __future__ import annotations

import pytest

from booking_guard.errors import ConfigurationError
from booking_guard.settings import Settings
from booking_guard.severity import Severity


def test_full_scan_time_setting_is_validated(monkeypatch) -> None:
    monkeypatch.setenv("BOOKING_GUARD_FULL_SCAN_AT", "25:99")
    with pytest.raises(ConfigurationError, match="BOOKING_GUARD_FULL_SCAN_AT"):
        Settings.from_env()
    monkeypatch.setenv("BOOKING_GUARD_FULL_SCAN_AT", "")
    assert Settings.from_env().full_scan_at is None


def test_email_without_recipients_is_a_configuration_error(monkeypatch) -> None:
    monkeypatch.setenv("DATA_CONSISTENCY_ALERT_EMAIL", "true")
    monkeypatch.delenv("DATA_CONSISTENCY_ALERT_EMAIL_TO", raising=False)
    with pytest.raises(ConfigurationError, match="DATA_CONSISTENCY_ALERT_EMAIL_TO"):
        Settings.from_env()
    monkeypatch.setenv("DATA_CONSISTENCY_ALERT_EMAIL", "perhaps")
    with pytest.raises(ConfigurationError, match="DATA_CONSISTENCY_ALERT_EMAIL must be true"):
        Settings.from_env()


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("BOOKING_GUARD_RULE_WORKERS", "abc", "must be a whole number, got 'abc'"),
        ("BOOKING_GUARD_RULE_WORKERS", "0", "must be between 1 and 32, got 0"),
        (
            "DATA_CONSISTENCY_ALERT_COOLDOWN_SECONDS",
            "99999999999999999999",
            "must be between 1 and 604,800",
        ),
        ("DATA_CONSISTENCY_ALERT_MIN_SEVERITY", "loud", "must be one of critical, warning, info"),
    ],
)
def test_bad_numbers_and_names_are_named(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, message: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigurationError, match=name) as raised:
        Settings.from_env()
    assert message in str(raised.value)


def test_minimum_severity_admits_the_more_severe(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATA_CONSISTENCY_ALERT_MIN_SEVERITY", "critical")
    assert Settings.from_env().notify_severities == [Severity.CRITICAL]
