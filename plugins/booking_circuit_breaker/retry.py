"""Retries with exponential backoff and full jitter that give way to an open breaker.

Attempt n waits a random time in [0, min(cap, base * 2**(n-1))] (1 s, 2 s, 4 s … by default):
full jitter spreads the retries of many callers instead of having them hit the service together.
A ``CircuitOpenError`` is not retried blindly: when the breaker will not admit calls within
``max_delay`` the error is raised at once; otherwise the next attempt waits ``retry_after``.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from booking_circuit_breaker.errors import CircuitOpenError

T = TypeVar("T")


def backoff_delay(
    attempt: int, base_delay: float, max_delay: float, rng: Callable[[], float] = random.random
) -> float:
    """Full-jitter delay after failed attempt ``attempt`` (1-based)."""
    return rng() * min(max_delay, base_delay * 2.0 ** (attempt - 1))


def _delay_after(
    exc: BaseException,
    attempt: int,
    attempts: int,
    base_delay: float,
    max_delay: float,
    rng: Callable[[], float],
) -> float | None:
    """How long to wait before the next attempt; None: raise ``exc`` now."""
    if attempt >= attempts:
        return None
    if isinstance(exc, CircuitOpenError):
        return exc.retry_after if exc.retry_after <= max_delay else None
    return backoff_delay(attempt, base_delay, max_delay, rng)


def retry(
    fn: Callable[..., T],
    *args: object,
    attempts: int = 3,
    base_delay: float = 1.0,
    max_delay: float = 30.0,
    retry_on: tuple[type[BaseException], ...] = (Exception,),
    sleep: Callable[[float], None] = time.sleep,
    rng: Callable[[], float] = random.random,
    **kwargs: object,
) -> T:
    """Call ``fn`` up to ``attempts`` times; the last exception reaches the caller unchanged."""
    for attempt in range(1, attempts + 1):
        try:
            return fn(*args, **kwargs)
        except retry_on as exc:
            delay = _delay_after(exc, attempt, attempts, base_delay, max_delay, rng)
            if delay is None:
                raise
            sleep(delay)
    raise AssertionError("unreachable")


async def retry_async(
    fn: Callable[..., Awaitable[T]],
    *args: object,
    attempts: int = 3,
    base_delay: float = 1.0,
    max_delay: float = 30.0,
    retry_on: tuple[type[BaseException], ...] = (Exception,),
    rng: Callable[[], float] = random.random,
    **kwargs: object,
) -> T:
    """``retry`` for coroutine functions, sleeping with ``asyncio.sleep``."""
    for attempt in range(1, attempts + 1):
        try:
            return await fn(*args, **kwargs)
        except retry_on as exc:
            delay = _delay_after(exc, attempt, attempts, base_delay, max_delay, rng)
            if delay is None:
                raise
            await asyncio.sleep(delay)
    raise AssertionError("unreachable")
