"""``CircuitBreaker``: one breaker per service key, shared by every process through Redis.

The hot path: a call admitted while the circuit is closed costs one Redis round trip, its
outcome. A success is one HGET of the circuit's ``healthy`` field (closed under this generation
with no failure counted: the success changes nothing), as cheap as a GET; otherwise, or for a
failure, an outcome script records it. The process trusts what Redis last
said for at most ``state_cache_seconds`` (under half the cooldown) from when it asked, so no call
runs unadmitted while another process holds half-open probes:

- "closed": calls are admitted without asking;
- "open, reopening in N s": calls are rejected without asking until then (fast fail); a
  ``force_close`` made by another process is seen here within that bound.

The healthy successes and the rejections served from the cache are counted in the process and
added to the circuit's shared counters (with its TTL refresh) by the background thread within
``COUNTS_REPORT_SECONDS`` (``flush`` and ``close`` add them at once, and so does the normal exit
of the interpreter, best effort); a process killed outright loses at most that much of them.

An outcome recorded under an older generation is discarded. Everything else (half-open, unknown,
trust expired) asks Redis first. While Redis is unreachable a local breaker seeded from
PostgreSQL decides, or, for a fail-closed service, every call is rejected.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import inspect
import itertools
import logging
import os
import threading
import time
import weakref
from collections import Counter
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import replace
from datetime import UTC, datetime
from functools import wraps
from typing import Any, NamedTuple, ParamSpec, TypeVar, Unpack, overload

import redis

from booking_circuit_breaker import metrics
from booking_circuit_breaker.errors import CircuitOpenError, CircuitTimeoutError
from booking_circuit_breaker.settings import BreakerOptions, BreakerSettings, ServiceSettings
from booking_circuit_breaker.shared import (
    SharedState,
    connect,
    hash_key,
    probes_key,
    snapshot_from_fields,
)
from booking_circuit_breaker.state import (
    CLOSED,
    HALF_OPEN,
    OPEN,
    CircuitOverview,
    LocalCircuit,
    Snapshot,
    Statistics,
    Verdict,
)
from booking_circuit_breaker.store import DurableStore, Keeper, StateChange
from booking_circuit_breaker.workers import CallTimedOut, WorkerPool

log = logging.getLogger("booking_circuit_breaker")
T = TypeVar("T")
P = ParamSpec("P")
Listener = Callable[[StateChange], None]
# How soon the counts kept in the process reach the shared counters (and so other processes).
COUNTS_REPORT_SECONDS = 1.0


class _Permit(NamedTuple):
    """A call's admission: the generation it runs under and its probe lease, if any (a
    generation without a lease: admitted while closed). A tuple: made on every call."""

    key: str
    full_key: str
    service: ServiceSettings
    trust_seconds: float
    generation: int | None
    token: str | None
    shared: bool


class _Route(NamedTuple):
    """What a key resolves to, once per key: its full key (tenant), settings and trust span."""

    full_key: str
    service: ServiceSettings
    trust_seconds: float


# A cached state that admits nothing without asking Redis (half-open, or open with no known
# reopening time); it keeps the generation so that an older reply cannot replace it.
_ASK = "ask"


class _Known(NamedTuple):
    """What Redis last said of a circuit, acted on without asking until ``trusted_until``
    (this process's monotonic clock): closed, open until ``open_until``, or ``_ASK``."""

    state: str
    generation: int
    trusted_until: float
    open_until: float


class CircuitBreaker:
    """Closed → open → half-open breakers per service key (BEHAVIOUR §C, defects §G fixed).

    ``CircuitBreaker()`` reads ``CIRCUIT_BREAKER_*``, ``BOOKING_GUARD_REDIS_URL`` and
    ``BOOKING_GUARD_DATABASE_URL``; keyword arguments (``BreakerOptions``: ``redis_url``,
    ``failure_threshold``, ``services`` …) override them, ``settings`` replaces all of them.
    ``tenant`` prefixes every key (``tenant:<id>:<key>``) so tenants' breakers never meet.
    ``clock`` (epoch seconds) replaces Redis' clock and the local one, for tests.
    """

    def __init__(
        self,
        *,
        tenant: str | int | None = None,
        clock: Callable[[], float] | None = None,
        settings: BreakerSettings | None = None,
        **options: Unpack[BreakerOptions],
    ) -> None:
        if settings is None:
            settings = BreakerSettings.from_env(**options)
        self.settings = settings
        self.tenant = tenant
        self.company_id = int(tenant) if tenant is not None and str(tenant).isdigit() else None
        self._clock = clock
        self._time = clock or time.time  # timestamps (the local breaker's, stored)
        # Deadlines kept in the process (the cache's trust, open-until): a step of the wall
        # clock (NTP) must neither stretch nor cut them.
        self._ticks = clock or time.monotonic
        self._shared = SharedState(
            connect(settings.redis_url, settings.redis_timeout_seconds), settings.state_ttl_seconds
        )
        self._store = DurableStore(settings.database_url) if settings.database_url else None
        self._keeper: Keeper[StateChange] = Keeper(self._persist, self._background)
        self._workers = WorkerPool()
        self._listeners: list[Listener] = []
        self._cache: dict[str, _Known] = {}
        self._cache_lock = threading.Lock()
        self._local: dict[str, LocalCircuit] = {}
        self._lock = threading.RLock()
        self._redis_down_since: float | None = None
        self._redis_retry_at = 0.0
        self._tokens = itertools.count()
        self._token_prefix = f"{os.getpid()}-{id(self):x}-"
        self.counters = metrics.LocalCounters()
        self._routes: dict[str, _Route] = {}
        _LIVE.add(self)

    # -- the contract ---------------------------------------------------------------------

    @overload
    def execute(self, key: str) -> _Guard: ...

    @overload
    def execute(self, key: str, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T: ...

    def execute(
        self, key: str, fn: Callable[P, T] | None = None, *args: P.args, **kwargs: P.kwargs
    ) -> T | _Guard:
        """Run ``fn(*args, **kwargs)`` through the breaker of ``key``.

        Open: raises ``CircuitOpenError`` without running it. The operation's own exceptions
        reach the caller unchanged; those the failure predicate accepts count as failures, the
        others (a 4xx, say: the service answered) as successes. Past the service's timeout the
        caller gets ``CircuitTimeoutError`` and the call counts as a failure.
        Without ``fn``: a decorator (``@breaker.execute("calcom")``) and a context manager
        (``with breaker.execute("calcom"):``; the block's time is not limited).
        """
        if fn is None:
            return _Guard(self, key)
        permit = self._admit(key)
        timeout = permit.service.timeout_seconds
        try:
            if timeout:
                try:
                    result = self._workers.run(fn, args, kwargs, timeout)
                except CallTimedOut:
                    raise CircuitTimeoutError(key, timeout) from None
            else:
                result = fn(*args, **kwargs)
        except BaseException as exc:
            self._settle(permit, exc)
            raise
        self._record(permit, failed=False)
        return result

    async def execute_async(
        self, key: str, fn: Callable[P, Awaitable[T]], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """``execute`` for coroutine functions, timed out with ``asyncio.timeout``.

        Redis is asked synchronously (a round trip of well under a millisecond, bounded by the
        short Redis timeout); the operation itself runs on the caller's event loop.
        """
        permit = self._admit(key)
        timeout = permit.service.timeout_seconds
        try:
            async with asyncio.timeout(timeout) as deadline:
                result = await fn(*args, **kwargs)
        except TimeoutError as exc:
            if timeout is not None and deadline.expired():
                error = CircuitTimeoutError(key, timeout)
                self._settle(permit, error)
                raise error from None
            self._settle(permit, exc)
            raise
        except BaseException as exc:
            self._settle(permit, exc)
            raise
        self._record(permit, failed=False)
        return result

    def is_available(self, key: str) -> bool:
        """Would a call be admitted now? Reads only: takes no probe slot, changes nothing."""
        full, service, _ = self._route(key)
        if not self._redis_up():
            if not service.fail_open:
                return False
            with self._lock:
                circuit = self._local_circuit(full)
                leases = [until for until in circuit.leases.values()]
            return _available(circuit.s, leases, self._local_ms(), service)
        try:
            pipe = self._shared.client.pipeline(transaction=False)
            pipe.hgetall(hash_key(full))
            pipe.zrange(probes_key(full), 0, -1, withscores=True)
            pipe.time()
            fields, leases, (sec, usec) = pipe.execute()
        except redis.RedisError as exc:
            self._lost_redis(exc)
            return self.is_available(key)
        snapshot = snapshot_from_fields(full, {k.decode(): v.decode() for k, v in fields.items()})
        now = self._now_ms() or sec * 1000 + usec // 1000
        return _available(snapshot, [int(score) for _, score in leases], now, service)

    def record_success(self, key: str) -> None:
        """Count a success for a call made outside ``execute`` (applies to the current state)."""
        self._record(self._external_permit(key), failed=False)

    def record_failure(self, key: str) -> None:
        """Count a failure for a call made outside ``execute``."""
        self._record(self._external_permit(key), failed=True)

    def get_state(self, key: str) -> str:
        """``closed``, ``open`` or ``half_open`` (as stored: an open circuit past its cooldown
        turns half-open when the next call asks)."""
        return self._snapshot(key).state

    def get_statistics(self, key: str) -> Statistics:
        """circuit_key, state, failure_count, success_count, last_failure_at, opened_at,
        closed_at (datetimes in UTC or None)."""
        return self._snapshot(key).statistics()

    def force_open(self, key: str) -> None:
        """Open and hold open (no half-open after the cooldown) until forced closed or reset."""
        self._force(key, "open")

    def force_close(self, key: str) -> None:
        """Close now; the usual rules apply again from zero failures."""
        self._force(key, "close")

    def reset(self, key: str) -> None:
        """Closed with no history, as if the circuit had never been used."""
        self._force(key, "reset")

    # -- listeners, overview, lifecycle ---------------------------------------------------

    def add_listener(self, listener: Listener) -> None:
        """Call ``listener(StateChange)`` after each transition this process makes is stored.

        Listeners run on the breaker's background thread, never on a caller's path; one
        transition is made (and so reported) by exactly one process.
        """
        self._listeners.append(listener)

    def overview(self) -> list[CircuitOverview]:
        """Every circuit Redis or PostgreSQL knows: statistics plus the shared counters."""
        rows: dict[str, CircuitOverview] = {}
        if self._store is not None:
            for s in self._store.load():
                rows[s.circuit_key] = {**s.statistics(), "source": "postgresql", "counters": {}}
        if self._redis_up():
            try:
                shared = self._shared.read_all()
            except redis.RedisError as exc:
                self._lost_redis(exc)
            else:
                for key, fields in shared.items():
                    counters = {f: int(fields.get(f, 0)) for f in metrics.SHARED_COUNTERS}
                    rows[key] = {
                        **snapshot_from_fields(key, fields).statistics(),
                        "source": "redis",
                        "counters": counters,
                    }
        with self._lock:
            for key, circuit in self._local.items():
                rows[key] = {**circuit.s.statistics(), "source": "local", "counters": {}}
        return [rows[k] for k in sorted(rows)]

    def prometheus(self) -> str:
        return metrics.render(self.overview(), self._redis_up())

    @property
    def shared_state_up(self) -> bool:
        return self._redis_up()

    def flush(self, timeout: float = 5.0) -> bool:
        """Add the counts kept in the process to Redis now, and wait until queued transitions
        are stored and listeners ran (CLI, tests, shutdown)."""
        self._report_counts(due_now=True)
        return self._keeper.flush(timeout)

    def close(self) -> None:
        _LIVE.discard(self)
        self.flush()
        self._keeper.stop()
        self._shared.client.close()
        if self._store is not None:
            self._store.close()

    # -- admission and outcomes -----------------------------------------------------------

    def _full(self, key: str) -> str:
        return key if self.tenant is None else f"tenant:{self.tenant}:{key}"

    def _now_ms(self) -> int | None:
        """The injected clock in ms; None lets the scripts use Redis' clock."""
        return None if self._clock is None else round(self._clock() * 1000)

    def _local_ms(self) -> int:
        return round(self._time() * 1000)

    def _route(self, key: str) -> _Route:
        route = self._routes.get(key)
        if route is None:
            service = self.settings.for_key(key)
            route = _Route(self._full(key), service, self.settings.cache_seconds(service))
            self._routes[key] = route
        return route

    def _admit(self, key: str) -> _Permit:
        full, service, trust = self._route(key)
        redis_up = self._redis_down_since is None
        if redis_up:
            known = self._cache.get(full)
            if known is not None:
                now = self._ticks()
                if now < known.trusted_until:
                    if known.state == CLOSED:
                        return _Permit(key, full, service, trust, known.generation, None, True)
                    if known.state == OPEN:
                        self._count(full, "rejected", "n_rejected")
                        raise CircuitOpenError(key, known.open_until - now)
        token = f"{self._token_prefix}{next(self._tokens)}"
        if redis_up:
            sent = self._ticks()
            try:
                verdict = self._shared_call(
                    full,
                    lambda: self._shared.admit(
                        full,
                        self._now_ms(),
                        round(service.cooldown_seconds * 1000),
                        service.success_threshold,
                        round(service.lease_seconds * 1000),
                        token,
                    ),
                )
            except redis.RedisError as exc:
                self._lost_redis(exc)
            else:
                return self._permit(key, full, service, trust, verdict, token, sent)
        if not service.fail_open:
            self.counters.add(full, "rejected_degraded")
            raise CircuitOpenError(
                key, self.settings.redis_retry_seconds, "is unavailable (shared state unreachable)"
            )
        with self._lock:
            verdict = self._local_circuit(full).admit(
                self._local_ms(),
                round(service.cooldown_seconds * 1000),
                service.success_threshold,
                round(service.lease_seconds * 1000),
                token,
            )
        return self._permit(key, full, service, trust, verdict, token, None)

    def _permit(
        self,
        key: str,
        full: str,
        service: ServiceSettings,
        trust: float,
        verdict: Verdict,
        token: str,
        sent: float | None,
    ) -> _Permit:
        """Admit or reject by a verdict: Redis' (asked at ``sent``) or, with None, the local one."""
        self._observe(full, trust, verdict, sent)
        if verdict.verdict in ("reject", "busy"):
            self.counters.add(full, "rejected")
            reason = (
                "is HALF_OPEN: test request in progress" if verdict.verdict == "busy" else "is OPEN"
            )
            raise CircuitOpenError(key, verdict.retry_after, reason)
        probe = token if verdict.verdict == "probe" else None
        generation = verdict.snapshot.generation
        return _Permit(key, full, service, trust, generation, probe, sent is not None)

    def _count(self, full: str, event: str, shared: str) -> None:
        """Count what the background thread adds to the shared counter ``shared`` later."""
        if self.counters.add(full, event, shared):
            self._keeper.wake()

    def _external_permit(self, key: str) -> _Permit:
        full, service, trust = self._route(key)
        return _Permit(key, full, service, trust, None, None, True)

    def _settle(self, permit: _Permit, exc: BaseException) -> None:
        """Turn the operation's exception into the breaker's outcome."""
        if isinstance(exc, CircuitTimeoutError):
            self.counters.add(permit.full_key, "timeout")
            self._record(permit, failed=True, timed_out=True)
        elif permit.service.failure_predicate(exc):
            self._record(permit, failed=True)
        elif isinstance(exc, Exception):
            self._record(permit, failed=False)
        elif permit.token is not None:  # cancelled or interrupted: no outcome, free the probe
            self._release(permit, permit.token)

    def _record(self, permit: _Permit, *, failed: bool, timed_out: bool = False) -> None:
        service, full = permit.service, permit.full_key
        event = "failure" if failed else "success"
        if permit.shared and self._redis_down_since is None:
            sent = self._ticks()
            try:
                if (  # the healthy path: a success of a call admitted while closed
                    not failed
                    and permit.token is None
                    and permit.generation is not None
                    and self._shared.healthy(full, permit.generation)
                ):
                    trusted_until = sent + permit.trust_seconds
                    self._learn(full, _Known(CLOSED, permit.generation, trusted_until, 0.0), sent)
                    self._count(full, event, "n_success")
                    return
                threshold = service.failure_threshold if failed else service.success_threshold
                verdict = self._shared_call(
                    full,
                    lambda: (
                        self._shared.failure(
                            full,
                            self._now_ms(),
                            permit.generation,
                            threshold,
                            permit.token,
                            timed_out,
                        )
                        if failed
                        else self._shared.success(
                            full, self._now_ms(), permit.generation, threshold, permit.token
                        )
                    ),
                )
            except redis.RedisError as exc:
                self._lost_redis(exc)
            else:
                self.counters.add(full, event)
                self._observe(full, permit.trust_seconds, verdict, sent)
                return
        self.counters.add(full, event)
        # Admitted by Redis but Redis is gone now: the local breaker counts it as current.
        generation = permit.generation if not permit.shared else None
        with self._lock:
            circuit = self._local_circuit(full)
            now = self._local_ms()
            verdict = (
                circuit.failure(now, generation, service.failure_threshold, permit.token)
                if failed
                else circuit.success(now, generation, service.success_threshold, permit.token)
            )
        self._observe(full, permit.trust_seconds, verdict, None)

    def _release(self, permit: _Permit, token: str) -> None:
        """Free a probe's slot without an outcome."""
        try:
            if permit.shared and self._redis_up():
                self._shared.release(permit.full_key, token)
                return
        except redis.RedisError as exc:
            self._lost_redis(exc)
        with self._lock:
            self._local_circuit(permit.full_key).release(token)

    def _force(self, key: str, action: str) -> None:
        full, _, trust = self._route(key)
        if self._redis_up():
            sent = self._ticks()
            try:
                verdict = self._shared.force(full, self._now_ms(), action)
            except redis.RedisError as exc:
                self._lost_redis(exc)
            else:
                self._observe(full, trust, verdict, sent, manual=action)
                return
        with self._lock:
            verdict = self._local_circuit(full).force(self._local_ms(), action)
        self._observe(full, trust, verdict, None, manual=action)

    def _observe(
        self,
        full: str,
        trust: float,
        verdict: Verdict,
        sent: float | None,
        manual: str | None = None,
    ) -> None:
        """Learn the circuit's state from a reply (Redis', asked at ``sent``, trusted for
        ``trust`` seconds; None: a local decision); queue a transition for storage."""
        s = verdict.snapshot
        if sent is not None:
            trusted_until = sent + trust
            if s.state == CLOSED:
                known = _Known(CLOSED, s.generation, trusted_until, 0.0)
            elif verdict.verdict == "reject":  # open, inside its cooldown (or forced open)
                open_until = sent + verdict.retry_after
                known = _Known(OPEN, s.generation, min(trusted_until, open_until), open_until)
            else:
                known = _Known(_ASK, s.generation, trusted_until, 0.0)
            self._learn(full, known, sent)
        if verdict.transition is None:
            return
        self.counters.add(full, f"to_{verdict.transition}")
        reason = f"manual_{manual}" if manual else _REASONS[verdict.previous, verdict.transition]
        self._keeper.submit(
            StateChange(
                circuit_key=full,
                company_id=self.company_id,
                state=verdict.transition,
                previous=verdict.previous,
                reason=reason,
                at=datetime.fromtimestamp(verdict.now_ms / 1000, UTC),
                source="local" if sent is None else "redis",
                snapshot=s,
            )
        )

    def _learn(self, full: str, known: _Known, sent: float) -> None:
        """Cache what a reply to a question asked at ``sent`` said, unless the cache holds a
        newer generation still trusted then: replies of concurrent calls arrive in any order,
        and an older one must not undo what a newer one taught (an expired entry gives way to
        any reply: Redis may have restored the circuit from an older durable copy)."""
        with self._cache_lock:
            current = self._cache.get(full)
            if (
                current is None
                or current.generation <= known.generation
                or current.trusted_until <= sent
            ):
                self._cache[full] = known

    def _snapshot(self, key: str) -> Snapshot:
        full = self._full(key)
        if self._redis_up():
            try:
                fields = self._shared.read(full)
            except redis.RedisError as exc:
                self._lost_redis(exc)
            else:
                if fields is not None:
                    return replace(snapshot_from_fields(full, fields), circuit_key=key)
                return replace(self._durable(full), circuit_key=key)
        with self._lock:
            return replace(self._local_circuit(full).s, circuit_key=key)

    # -- Redis lost keys, Redis down ------------------------------------------------------

    def _shared_call(self, full: str, call: Callable[[], Verdict | None]) -> Verdict:
        """Run a script; when Redis does not hold the circuit, restore it from PostgreSQL first."""
        verdict = call()
        if verdict is None:
            self._shared.seed(full, self._now_ms(), self._durable(full))
            verdict = call()
            if verdict is None:
                raise redis.RedisError(f"circuit {full} vanished from Redis while being restored")
        return verdict

    def _durable(self, full: str) -> Snapshot:
        """The stored copy of a circuit, or a fresh closed one (no database, no row, or down)."""
        if self._store is not None:
            try:
                rows = self._store.load(full)
            except Exception as exc:  # the database is optional on this path
                log.warning("circuit state not readable from PostgreSQL (%s)", type(exc).__name__)
            else:
                if rows:
                    return rows[0]
        return Snapshot(circuit_key=full)

    def _redis_up(self) -> bool:
        return self._redis_down_since is None

    def _lost_redis(self, exc: Exception) -> None:
        with self._lock:
            if self._redis_down_since is not None:
                return
            self._redis_down_since = self._ticks()
            self._redis_retry_at = time.monotonic() + self.settings.redis_retry_seconds
            self._cache.clear()
            seeds: list[Snapshot] = []
            if self._store is not None:
                try:
                    seeds = self._store.load()
                except Exception as db_exc:
                    log.warning("PostgreSQL not readable either (%s)", type(db_exc).__name__)
            self._local = {s.circuit_key: LocalCircuit(s) for s in seeds}
        log.warning(
            "circuit breaker: Redis unreachable (%s); %d circuit(s) continue on local state"
            " seeded from PostgreSQL until it returns",
            type(exc).__name__,
            len(seeds),
        )
        self._keeper.wake()

    def _background(self) -> float | None:
        """On the background thread: retry Redis while it is down, report the counts kept in the
        process; the wait until next time (None: until woken)."""
        waits = [w for w in (self._watch_redis(), self._report_counts()) if w is not None]
        return min(waits) if waits else None

    def _report_counts(self, due_now: bool = False) -> float | None:
        """Add the counts kept in the process to Redis once they are due; the wait until they
        are. Kept while Redis is down (reported once it is back).

        At most once: counts whose command may have reached Redis (a late reply, a connection
        lost while waiting for it) are dropped, since putting them back could add them twice;
        only a connection refused, so nothing was sent, puts them back. A late reply alone does
        not switch the process to local state: its next round trip on a call path decides."""
        since = self.counters.unreported_since
        if since is None or not self._redis_up():
            return None
        wait = since + COUNTS_REPORT_SECONDS - time.monotonic()
        if wait > 0 and not due_now:
            return wait
        counts = self.counters.take_unreported()
        if not counts:
            return None
        try:
            self._shared.tally(counts)
        except redis.ConnectionError as exc:
            if isinstance(exc.__context__, ConnectionRefusedError):  # raised while connecting
                self.counters.put_back(counts)
            else:
                _log_dropped(counts, exc)
            self._lost_redis(exc)
        except redis.RedisError as exc:
            _log_dropped(counts, exc)
        return None

    def _watch_redis(self) -> float | None:
        """On the background thread: retry Redis while it is down; the wait until next time."""
        if self._redis_down_since is None:
            return None
        wait = self._redis_retry_at - time.monotonic()
        if wait > 0:
            return wait
        try:
            self._shared.ping()
        except redis.RedisError:
            self._redis_retry_at = time.monotonic() + self.settings.redis_retry_seconds
            return self.settings.redis_retry_seconds
        with self._lock:
            down_for = self._ticks() - self._redis_down_since
            self._redis_down_since = None
            self._local = {}
        log.warning(
            "circuit breaker: Redis reachable again after %.1f s; shared state resumes", down_for
        )
        return None

    def _local_circuit(self, full: str) -> LocalCircuit:
        """The local breaker of a circuit; one the outage's bulk load did not bring (a new key, or
        a call that saw Redis down just before it came back) starts from its stored copy."""
        circuit = self._local.get(full)
        if circuit is None:
            circuit = self._local[full] = LocalCircuit(self._durable(full))
        return circuit

    def _persist(self, change: StateChange) -> None:
        """On the background thread: store a transition, then tell the listeners."""
        if self._store is not None:
            try:
                self._store.save(change)
            except Exception as exc:
                log.warning(
                    "circuit %s: transition to %s not stored in PostgreSQL (%s)",
                    change.circuit_key,
                    change.state,
                    type(exc).__name__,
                )
        for listener in self._listeners:
            try:
                listener(change)
            except Exception:
                log.exception("circuit breaker listener %r failed", listener)


def _log_dropped(counts: Counter[tuple[str, str]], exc: Exception) -> None:
    log.warning(
        "circuit breaker: %d count(s) not added to the shared counters (%s; the command may"
        " have run, so they are not sent again)",
        sum(counts.values()),
        type(exc).__name__,
    )


_LIVE: weakref.WeakSet[CircuitBreaker] = weakref.WeakSet()  # reported at the interpreter's exit


def _report_at_exit() -> None:
    """The background thread is a daemon: the counts it has not reported yet would be lost at a
    normal exit without ``close()``. Best effort: an exit never fails because of them."""
    for breaker in list(_LIVE):
        with contextlib.suppress(Exception):
            breaker._report_counts(due_now=True)


atexit.register(_report_at_exit)

_REASONS: dict[tuple[str | None, str], str] = {
    (CLOSED, OPEN): "failure_threshold",
    (HALF_OPEN, OPEN): "probe_failed",
    (OPEN, HALF_OPEN): "cooldown_elapsed",
    (HALF_OPEN, CLOSED): "probes_succeeded",
}


def _available(s: Snapshot, leases: list[int], now: int, service: ServiceSettings) -> bool:
    if s.state == CLOSED:
        return True
    if s.state == OPEN:
        return not s.forced and now - (s.opened_at_ms or 0) >= service.cooldown_seconds * 1000
    return s.successes + sum(1 for until in leases if until > now) < service.success_threshold


class _Guard:
    """``breaker.execute(key)`` without an operation: a decorator and a context manager."""

    def __init__(self, breaker: CircuitBreaker, key: str) -> None:
        self.breaker, self.key = breaker, key
        self._permits = threading.local()

    @overload
    def __call__(
        self, fn: Callable[P, Coroutine[Any, Any, T]]
    ) -> Callable[P, Coroutine[Any, Any, T]]: ...

    @overload
    def __call__(self, fn: Callable[P, T]) -> Callable[P, T]: ...

    def __call__(self, fn: Callable[P, Any]) -> Callable[P, Any]:
        breaker, key = self.breaker, self.key
        if inspect.iscoroutinefunction(fn):

            @wraps(fn)
            async def guarded_async(*args: P.args, **kwargs: P.kwargs) -> Any:
                return await breaker.execute_async(key, fn, *args, **kwargs)

            return guarded_async

        @wraps(fn)
        def guarded(*args: P.args, **kwargs: P.kwargs) -> Any:
            return breaker.execute(key, fn, *args, **kwargs)

        return guarded

    def _stack(self) -> list[_Permit]:
        """This thread's open ``with`` blocks (the guard may be shared between threads)."""
        stack: list[_Permit] = self._permits.__dict__.setdefault("stack", [])
        return stack

    def __enter__(self) -> _Guard:
        self._stack().append(self.breaker._admit(self.key))
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object
    ) -> None:
        permit = self._stack().pop()
        if exc is None:
            self.breaker._record(permit, failed=False)
        else:
            self.breaker._settle(permit, exc)
