"""Keeping personal data out of what people read: Slack, e-mail, logs.

Messages carry ids, counts and timestamps only; ``mask`` is the net under them. Phone numbers
are found by Google's libphonenumber (``phonenumbers``), which knows every country's numbering
plan and reads any digits and separators people type (full-width digits, non-breaking spaces,
en dashes), in two passes:

- ``Leniency.VALID`` over the whole text: a number that exists in some numbering plan, written
  internationally or in the national format of ``region``. A bare digit run counts only here, so
  an id (1234567) is not a number unless it dials one.
- ``Leniency.POSSIBLE`` for what is *written* like a number but does not exist: fictional and
  mistyped ones (555-123-4567). It would also read dates and decimals as numbers, so it runs
  between them (dates, timestamps, times, decimals and UUIDs are kept as they are) and counts
  only text of 7 digits or more set apart by separators, a ``+`` or parentheses, not glued to a
  letter.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import phonenumbers
from phonenumbers import Leniency, PhoneNumberMatch, PhoneNumberMatcher

from booking_guard.settings import phone_region

PHONE = "[phone]"
EMAIL = "[email]"

# An address with a dot-atom or quoted local part ("john doe"@example.com) and a domain that
# may be a single label (user@localhost) or an address literal (user@[10.0.0.1]).
# It starts where a run of address characters starts (each run is tried once, not at every one
# of its characters).
_ATOM = r"[\w!#$%&'*+/=?^`{|}~-]+"
_EMAIL = re.compile(
    rf"(?<![\w!#$%&'*+/=?^`{{|}}~.-])"
    rf'(?:"(?:[^"\\\n]|\\.)+"|{_ATOM}(?:\.{_ATOM})*)@(?:\[[^\]\s]+\]|[\w-]+(?:\.[\w-]+)*)'
)

# What is not a phone number although libphonenumber could read it as a possible one (one
# group, so that ``split`` returns these pieces at the odd positions).
_NOT_PHONE = re.compile(
    r"""(
      [0-9a-f]{8}-(?:[0-9a-f]{4}-){3}[0-9a-f]{12}                  # UUID
    | \d{4}-\d{2}-\d{2}                                            # ISO 8601 date
      (?:[T\x20]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:Z|[+-]\d{2}(?::?\d{2})?)?)?  # and time
    | (?<!\d)\d{1,2}[./]\d{1,2}[./]\d{4}(?!\d)                     # 15.01.2024, 01/15/2024
    | (?<!\d)\d{1,2}:\d{2}(?::\d{2})?(?!\d)                        # 10:30, 10:30:00
    | (?<![\d.,])\d{1,3}(?:,\d{3})+(?:\.\d+)?(?![.,]?\d)             # 1,234,567.89
    | (?<![\d.,])\d{1,3}(?:\.\d{3})+(?:,\d+)?(?![.,]?\d)             # 1.234.567,89
    | (?<![\d.,])\d+[.,]\d+(?![.,]?\d)                             # 3.14, 0,5
    )""",
    re.IGNORECASE | re.VERBOSE,
)
_MIN_DIGITS = 7


def mask(text: str, region: str | None = None) -> str:
    """``text`` with phone numbers and e-mail addresses replaced by placeholders.

    ``region`` (default: ``BOOKING_GUARD_PHONE_REGION``) decides how a number written without
    a country code is read; numbers with one are found whatever the region.
    """
    region = region or phone_region()
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(f"unknown phone region {region!r}")
    text = _EMAIL.sub(EMAIL, text)
    text = _replace(text, PhoneNumberMatcher(text, region, leniency=Leniency.VALID))
    pieces = _NOT_PHONE.split(text)
    return "".join(p if i % 2 else _mask_written_numbers(p, region) for i, p in enumerate(pieces))


def _mask_written_numbers(text: str, region: str) -> str:
    """Mask what is set out like a phone number, whether or not the number exists."""
    written = [
        match
        for match in PhoneNumberMatcher(text, region, leniency=Leniency.POSSIBLE)
        if sum(ch.isdigit() for ch in match.raw_string) >= _MIN_DIGITS
        and not match.raw_string.isdigit()
        and not text[match.start - 1 : match.start].isalnum()
        and not text[match.end : match.end + 1].isalnum()
    ]
    return _replace(text, written)


def _replace(text: str, matches: Iterable[PhoneNumberMatch]) -> str:
    """``text`` with each match (in order, not overlapping, as the matcher yields them) masked."""
    parts: list[str] = []
    end = 0
    for match in matches:
        parts += [text[end : match.start], PHONE]
        end = match.end
    return "".join(parts) + text[end:]
