"""Masking: the net under messages that carry ids and counts only."""

from __future__ import annotations

from booking_guard.privacy import mask


def test_phone_numbers_and_addresses_are_masked_ids_are_not() -> None:
    assert mask("call +49 170 1234567 or 0170-555 0001, mail anna@example.com, call 1234567") == (
        "call [phone] or [phone], mail [email], call 1234567"
    )
