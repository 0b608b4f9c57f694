"""The Cal.com API v2 client of the booking path: one request, bounded in every phase and in all.

BEHAVIOUR §F.2-2: the original breaker's timeout was only measured; here the client bounds its
own call — connect, write, read and pool waits each have a timeout, and a total deadline is
checked between phases and between the chunks of the answer, so a server that trickles its
answer is cut off too. The breaker's own timeout stays above the deadline, as a backstop.

Errors say whether Cal.com may have booked the slot: ``outcome_unknown`` is True when the request
may have been processed (no answer, a cut answer, an unreadable 2xx). Such a booking is not
retried — a retry could book twice — but handed to people with what is known.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from booking_guard.errors import BookingGuardError
from booking_guard.logs import register_secret

API_VERSION = "2024-08-13"
# A gateway or the service said "not now": nothing was booked, a retry is safe.
RETRYABLE_STATUS = frozenset({429, 502, 503, 504})


class CalcomError(BookingGuardError):
    """A booking Cal.com did not confirm. ``status_code`` (None without an answer) lets the
    breaker's ``counts_server_errors`` tell an outage (5xx, 429, no answer) from a refusal (4xx)."""

    def __init__(
        self, message: str, *, status_code: int | None = None, outcome_unknown: bool = False
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.outcome_unknown = outcome_unknown

    @property
    def retryable(self) -> bool:
        """Safe to try again: nothing can have been booked, and the service may recover."""
        if self.outcome_unknown:
            return False
        return self.status_code is None or self.status_code in RETRYABLE_STATUS


@dataclass(frozen=True)
class Timeouts:
    """Seconds per phase, and the whole request's deadline."""

    connect: float = 2.0
    read: float = 5.0
    write: float = 5.0
    pool: float = 1.0
    total: float = 8.0


@dataclass(frozen=True)
class Attendee:
    name: str
    email: str
    time_zone: str = "Europe/Berlin"


@dataclass(frozen=True)
class Slot:
    """What is booked: an event type at a start time, for an attendee."""

    start: datetime
    event_type_id: int
    attendee: Attendee


@dataclass(frozen=True)
class CalcomBooking:
    uid: str
    id: int | None
    start: datetime
    end: datetime | None
    status: str


class CalcomClient:
    """``POST /v2/bookings`` with explicit timeouts; thread-safe (one pooled ``httpx.Client``)."""

    def __init__(
        self, base_url: str, api_key: str | None = None, *, timeouts: Timeouts | None = None
    ) -> None:
        self.timeouts = timeouts or Timeouts()
        register_secret(api_key)
        headers = {"cal-api-version": API_VERSION}
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        self._client = httpx.Client(base_url=base_url.rstrip("/"), headers=headers)

    @classmethod
    def from_env(cls, timeouts: Timeouts | None = None) -> CalcomClient:
        """``BOOKING_GUARD_CALCOM_URL`` (default https://api.cal.com), ``…_CALCOM_API_KEY``."""
        return cls(
            os.environ.get("BOOKING_GUARD_CALCOM_URL") or "https://api.cal.com",
            os.environ.get("BOOKING_GUARD_CALCOM_API_KEY"),
            timeouts=timeouts,
        )

    def create_booking(self, slot: Slot, metadata: dict[str, str] | None = None) -> CalcomBooking:
        """Book ``slot``; raises ``CalcomError`` unless Cal.com confirmed it."""
        payload = {
            "start": slot.start.isoformat(),
            "eventTypeId": slot.event_type_id,
            "attendee": {
                "name": slot.attendee.name,
                "email": slot.attendee.email,
                "timeZone": slot.attendee.time_zone,
            },
            "metadata": metadata or {},
        }
        status, body = self._post("/v2/bookings", payload)
        if status >= 400:
            raise CalcomError(f"Cal.com answered {status}", status_code=status)
        try:
            data = json.loads(body)["data"]
            return CalcomBooking(
                uid=str(data["uid"]),
                id=data.get("id"),
                start=datetime.fromisoformat(data["start"]),
                end=datetime.fromisoformat(data["end"]) if data.get("end") else None,
                status=str(data.get("status", "accepted")),
            )
        except (ValueError, KeyError, TypeError):
            raise CalcomError(
                f"Cal.com answered {status} without a readable booking",
                status_code=status,
                outcome_unknown=True,
            ) from None

    def _post(self, path: str, payload: dict[str, Any]) -> tuple[int, bytes]:
        t = self.timeouts
        deadline = time.monotonic() + t.total
        timeout = httpx.Timeout(
            connect=min(t.connect, t.total),
            read=min(t.read, t.total),
            write=min(t.write, t.total),
            pool=min(t.pool, t.total),
        )
        chunks: list[bytes] = []
        try:
            with self._client.stream("POST", path, json=payload, timeout=timeout) as response:
                for chunk in response.iter_bytes():
                    if time.monotonic() > deadline:
                        raise CalcomError(
                            f"Cal.com answer not complete within {t.total:g} s",
                            outcome_unknown=True,
                        )
                    chunks.append(chunk)
                return response.status_code, b"".join(chunks)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            # The request never left: nothing was booked.
            raise CalcomError(f"Cal.com unreachable ({type(exc).__name__})") from None
        except httpx.TransportError as exc:
            # Sent, but no (complete) answer: Cal.com may have booked.
            raise CalcomError(
                f"Cal.com gave no answer ({type(exc).__name__})", outcome_unknown=True
            ) from None

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> CalcomClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
