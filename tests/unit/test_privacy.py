"""Masking: the net under messages that carry ids, counts and timestamps only."""

from __future__ import annotations

import pytest

from booking_guard.errors import ConfigurationError
from booking_guard.privacy import mask
from booking_guard.settings import DEFAULT_PHONE_REGION, Settings

NBSP, EN_DASH = "\u00a0", "\u2013"


def full_width(text: str) -> str:
    """Digits and plus signs as CJK input methods type them (U+FF10…, U+FF0B)."""
    return "".join(chr(ord(c) + 0xFEE0) if c.isdigit() or c == "+" else c for c in text)


PERSONAL = [
    # What the hand-written pattern missed.
    ("555-123-4567", "[phone]"),
    ("(555) 123-4567", "[phone]"),
    (f"0170{NBSP}555{NBSP}0001", "[phone]"),
    (f"+49{NBSP}170{EN_DASH}555{EN_DASH}0001", "[phone]"),
    (full_width("0170 555 0001"), "[phone]"),
    (full_width("+49 170 1234567"), "[phone]"),
    ("user@localhost", "[email]"),
    ('"john doe"@example.com', "[email]"),
    # What it caught, still caught.
    ("+49 170 1234567", "[phone]"),
    ("0170-555 0001", "[phone]"),
    ("anna@example.com", "[email]"),
    # More ways people write them.
    ("0049 30 12345678", "[phone]"),
    ("(030) 1234-5678", "[phone]"),
    ("030/1234567", "[phone]"),
    ("0170.5550001", "[phone]"),
    ("555.123.4567", "[phone]"),
    ("+1 212 555 0100", "[phone]"),
    ("+44 20 7946 0958", "[phone]"),
    ("+4930123456", "[phone]"),
    ("jürgen.müller+termin@beispiel.de", "[email]"),
    ("ops@[10.0.0.1]", "[email]"),
]

NOT_PERSONAL = [
    "call 1234567",
    "ids 1234567, 2345678, 12345678901, 20261101123456",
    "2024-01-15",
    "2024-01-15T10:00:00Z",
    "2026-11-01T12:00:00+00:00",
    "2026-11-01 12:00:00.123456+01:00",
    "15.01.2024",
    "01/15/2024",
    "10:30-11:45",
    "3.14159",
    "1234.5678",
    "0,5",
    "1,234,567.89",
    "1.234.567",
    "123e4567-e89b-12d3-a456-426614174000",
    "12345678-1234-1234-1234-123456789012",
    "v2.1.0",
    "company 3: 12 open alerts (call 1234567, appointment 2345678, …)",
    "@channel",
]


@pytest.mark.parametrize(("written", "placeholder"), PERSONAL)
def test_personal_data_is_masked_wherever_it_stands(written: str, placeholder: str) -> None:
    assert mask(written) == placeholder
    assert mask(f"Rückruf: {written}, danke.") == f"Rückruf: {placeholder}, danke."


@pytest.mark.parametrize("text", NOT_PERSONAL)
def test_ids_timestamps_dates_decimals_and_uuids_survive(text: str) -> None:
    assert mask(text) == text
    assert mask(f"seen {text} in run 42") == f"seen {text} in run 42"


def test_a_number_next_to_a_date_is_still_found() -> None:
    assert mask("Anna 0170 5550001 2024-01-15") == "Anna [phone] 2024-01-15"
    assert mask("+4917012345678@example.com, 0170 5550001") == "[email], [phone]"


def test_the_region_decides_how_national_numbers_are_read(monkeypatch) -> None:
    monkeypatch.delenv("BOOKING_GUARD_PHONE_REGION", raising=False)
    assert DEFAULT_PHONE_REGION == "DE"
    assert mask("030 12345678") == "[phone]"
    assert mask("030 12345678", region="US") == "030 12345678"
    # A bare digit run is masked only when it dials a number: under US rules this one does,
    # under German rules (a national number starts with 0) it is an id.
    assert mask("12345678901", region="US") == "[phone]"
    assert mask("12345678901") == "12345678901"
    monkeypatch.setenv("BOOKING_GUARD_PHONE_REGION", "us")
    assert Settings.from_env().phone_region == "US"
    assert mask("12345678901") == "[phone]"


def test_an_unknown_region_is_a_configuration_error(monkeypatch) -> None:
    monkeypatch.setenv("BOOKING_GUARD_PHONE_REGION", "XX")
    with pytest.raises(ConfigurationError, match="BOOKING_GUARD_PHONE_REGION") as raised:
        Settings.from_env()
    assert "got 'XX'" in str(raised.value)
    with pytest.raises(ConfigurationError, match="BOOKING_GUARD_PHONE_REGION"):
        mask("0170 5550001")
    with pytest.raises(ValueError, match="unknown phone region"):
        mask("0170 5550001", region="XX")
