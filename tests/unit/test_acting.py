"""The acting half without a database: registry coverage and its settings."""

from __future__ import annotations

import pytest

from booking_guard import corrections, review
from booking_guard.errors import ConfigurationError
from booking_guard.resources import sql_files
from booking_guard.rules import RULES
from booking_guard.settings import Settings


def test_every_correctable_rule_has_its_correction_and_every_queued_rule_a_recheck() -> None:
    correctable = {rule.id for rule in RULES if rule.auto_correctable}
    assert set(corrections.DESCRIPTIONS) == correctable
    assert {f"{rule_id}.sql" for rule_id in correctable} <= set(sql_files("corrections"))
    assert set(review.QUEUED_RULES).isdisjoint(correctable)
    assert set(review.QUEUED_RULES) | correctable | {review.CONFLICT} <= set(review.RECHECKS)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("BOOKING_GUARD_MAX_CORRECTIONS", "0", "between 1 and 1,000,000"),
        ("BOOKING_GUARD_MAX_CORRECTIONS", "many", "whole number"),
        ("BOOKING_GUARD_REVIEW_ESCALATE_HOURS", "10000", "between 1 and 720"),
    ],
)
def test_acting_settings_are_bounded(monkeypatch, name: str, value: str, message: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigurationError, match=f"{name}.*{message}"):
        Settings.from_env()


def test_acting_settings_defaults(monkeypatch) -> None:
    monkeypatch.delenv("BOOKING_GUARD_MAX_CORRECTIONS", raising=False)
    monkeypatch.delenv("BOOKING_GUARD_REVIEW_ESCALATE_HOURS", raising=False)
    settings = Settings.from_env()
    assert (settings.max_corrections, settings.review_escalate_hours) == (500, 24)
