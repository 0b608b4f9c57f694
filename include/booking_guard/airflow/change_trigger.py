"""The event trigger of the seconds-fresh path: in Airflow's triggerer, LISTEN for the change
triggers' notifications (migration 0007) and fire one event per coalesced batch, which updates the
asset that schedules ``consistency_events``.

The notifications carry no ids (those wait in ``bg_change_events``), so a lost one costs nothing
but time: after every (re)connection the trigger fires once if events are pending, and the
5-minute run stays the safety net.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from airflow.triggers.base import BaseEventTrigger, TriggerEvent

from booking_guard.change_events import CHANNEL
from booking_guard.db import libpq_url, redacted
from booking_guard.resources import load_sql

if TYPE_CHECKING:
    import psycopg

# libpq keepalives: a silently dropped connection is noticed within about a minute.
KEEPALIVES = {
    "keepalives": 1,
    "keepalives_idle": 30,
    "keepalives_interval": 10,
    "keepalives_count": 3,
}


class ChangeEventTrigger(BaseEventTrigger):
    """LISTEN on ``channel`` over an async psycopg connection; one ``TriggerEvent`` per batch of
    notifications arriving within ``settle_seconds`` of each other (a burst of commits is one
    event). Reconnects on loss with exponential backoff up to ``max_backoff_seconds``.

    Serialized with the Airflow connection id of the monitored database, never its URL (which may
    hold a password); without one, the triggerer's ``BOOKING_GUARD_DATABASE_URL``.
    """

    def __init__(
        self,
        conn_id: str | None = None,
        *,
        channel: str = CHANNEL,
        settle_seconds: float = 0.5,
        max_backoff_seconds: float = 30.0,
    ) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.conn_id = conn_id
        self.channel = channel
        self.settle_seconds = settle_seconds
        self.max_backoff_seconds = max_backoff_seconds

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "conn_id": self.conn_id,
                "channel": self.channel,
                "settle_seconds": self.settle_seconds,
                "max_backoff_seconds": self.max_backoff_seconds,
            },
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        import psycopg
        from psycopg import sql

        backoff = 1.0
        while True:
            url = await self._database_url()
            try:
                # libpq keepalives: a silently dropped connection is noticed within a minute.
                async with await psycopg.AsyncConnection.connect(
                    libpq_url(url),
                    autocommit=True,
                    connect_timeout=10,
                    keepalives=1,
                    keepalives_idle=30,
                    keepalives_interval=10,
                    keepalives_count=3,
                ) as conn:
                    await conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self.channel)))
                    self.log.info("listening on %s at %s", self.channel, redacted(url))
                    backoff = 1.0
                    if await _pending(conn):  # written while nobody listened
                        yield _event(Counter({"pending": 1}))
                    async for kinds in self._batches(conn):
                        yield _event(kinds)
            except psycopg.OperationalError as exc:
                self.log.warning(
                    "listening on %s lost (%s); reconnecting in %.0f s",
                    self.channel,
                    str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__,
                    backoff,
                )
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self.max_backoff_seconds)

    async def _batches(self, conn: psycopg.AsyncConnection[Any]) -> AsyncIterator[Counter[str]]:
        """Notifications grouped: the first one and all that follow within the settle time."""
        while True:
            kinds: Counter[str] = Counter()
            async for note in conn.notifies(stop_after=1):
                kinds[note.payload] += 1
            async for note in conn.notifies(timeout=self.settle_seconds):
                kinds[note.payload] += 1
            yield kinds

    async def _database_url(self) -> str:
        if self.conn_id is None:
            from booking_guard.settings import Settings

            return Settings.from_env().database_url
        from airflow.sdk import BaseHook

        connection = await BaseHook.aget_connection(self.conn_id)
        return str(connection.get_uri())


async def _pending(conn: psycopg.AsyncConnection[Any]) -> bool:
    row = await (await conn.execute(load_sql("events/pending.sql"))).fetchone()
    return bool(row and row[0])


def _event(kinds: Counter[str]) -> TriggerEvent:
    """What changed (entity types and how many notifications), and when it was seen."""
    return TriggerEvent(  # type: ignore[no-untyped-call]
        {
            "notifications": kinds.total(),
            "entity_types": sorted(kinds),
            "seen_at": datetime.now(UTC).isoformat(),
        }
    )
