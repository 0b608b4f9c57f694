"""Shared state in Redis: one atomic script per change, Redis' clock unless a test injects one.

Every script but one is ``common.lua`` (read the circuit, build the reply) followed by its own
part; ``tally.lua`` stands alone. The healthy path's success is no script at all: one HGET of the
circuit's ``healthy`` field, which the scripts keep. Every key carries ``LAYOUT_VERSION``, so the
scripts of another release never write the hashes these scripts read.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from booking_circuit_breaker.state import Snapshot, Verdict

LUA_DIR = Path(__file__).with_name("lua")
# The layout of the circuits in Redis, part of every key. Bump it with any change to the hash's
# fields or their meaning that the scripts of an older release would not maintain (such as the
# derived ``healthy``): during a rolling deploy old and new processes then keep separate circuits,
# each right by its own scripts, and a new process restores its circuits from PostgreSQL, as after
# a Redis restart, instead of reading hashes the old scripts wrote.
LAYOUT_VERSION = 2
KEY_PREFIX = f"circuit_breaker:v{LAYOUT_VERSION}:"
INDEX_KEY = KEY_PREFIX + "index"
# A script's reply, as common.lua builds it: bulk strings (bytes) and integers.
Reply = Sequence[Any]


def hash_key(key: str) -> str:
    """The Redis key of a circuit's hash."""
    return KEY_PREFIX + key


def probes_key(key: str) -> str:
    """The Redis key of a circuit's half-open probe leases."""
    return f"{KEY_PREFIX}{key}:probes"


@cache
def _script_source(name: str) -> str:
    return (LUA_DIR / "common.lua").read_text() + "\n" + (LUA_DIR / f"{name}.lua").read_text()


def connect(url: str, timeout: float) -> redis.Redis:
    """A client that gives up fast: short socket timeouts and no retries (redis-py retries
    about ten times with backoff by default, which would stall every call while Redis is down)."""
    return redis.Redis.from_url(
        url,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        retry=Retry(NoBackoff(), 0),
        health_check_interval=0,
    )


class SharedState:
    """The circuits in one Redis: ``circuit_breaker:v<LAYOUT_VERSION>:<key>`` (hash) and
    ``…:probes`` (leases)."""

    def __init__(self, client: redis.Redis, ttl_seconds: int) -> None:
        self.client = client
        self.ttl = ttl_seconds
        self.scripts = {
            name: client.register_script(_script_source(name))
            for name in ("admit", "success", "failure", "force", "seed")
        }
        self._tally = client.register_script((LUA_DIR / "tally.lua").read_text())

    def _reply(self, name: str, key: str, now_ms: int | None, *args: int | str) -> Reply:
        keys = (hash_key(key), probes_key(key), INDEX_KEY)
        reply: Reply = self.scripts[name](
            keys=keys, args=("" if now_ms is None else now_ms, self.ttl, key, *args)
        )
        return reply

    def _run(self, name: str, key: str, now_ms: int | None, *args: int | str) -> Verdict | None:
        """Run an outcome script; None when Redis does not hold the circuit (lost or never seen)."""
        reply = self._reply(name, key, now_ms, *args)
        return None if reply[0] == b"absent" else _verdict(key, reply)

    def admit(
        self,
        key: str,
        now_ms: int | None,
        cooldown_ms: int,
        threshold: int,
        lease_ms: int,
        token: str,
    ) -> Verdict | None:
        return self._run("admit", key, now_ms, cooldown_ms, threshold, lease_ms, token)

    def success(
        self,
        key: str,
        now_ms: int | None,
        generation: int | None,
        threshold: int,
        token: str | None,
    ) -> Verdict | None:
        return self._run("success", key, now_ms, _opt(generation), threshold, token or "")

    def healthy(self, key: str, generation: int) -> bool:
        """Is the circuit still closed under ``generation``, with no failure counted? Then a
        success of a call admitted under it changes nothing but the counters (``tally``); if not
        (another process counted a failure, a transition, Redis lost the circuit), ``success``
        records it. One read, atomic like every command: a failure stored before it is seen.
        Only this layout's scripts write the hash (``LAYOUT_VERSION``), and every one of them
        keeps ``healthy``."""
        return _int(self.client.hget(hash_key(key), "healthy")) == generation

    def tally(self, counts: Mapping[tuple[str, str], int]) -> None:
        """Add ``counts`` ((circuit key, counter field) → n) to the circuits Redis holds, and
        refresh their TTL."""
        keys: list[str] = []
        args: list[int | str] = [self.ttl]
        for (key, field), n in counts.items():
            keys.append(hash_key(key))
            args += (field, n)
        self._tally(keys=keys, args=args)

    def failure(
        self,
        key: str,
        now_ms: int | None,
        generation: int | None,
        threshold: int,
        token: str | None,
        timed_out: bool,
    ) -> Verdict | None:
        return self._run(
            "failure",
            key,
            now_ms,
            _opt(generation),
            threshold,
            token or "",
            "1" if timed_out else "",
        )

    def force(self, key: str, now_ms: int | None, action: str) -> Verdict:
        """Force a state; the script creates the circuit when Redis does not hold it."""
        return _verdict(key, self._reply("force", key, now_ms, action))

    def seed(self, key: str, now_ms: int | None, s: Snapshot) -> Verdict:
        """Restore a circuit Redis lost; one Redis already holds is left as it is."""
        return _verdict(
            key,
            self._reply(
                "seed",
                key,
                now_ms,
                s.state,
                s.generation,
                s.failures,
                s.successes,
                _opt(s.last_failure_ms),
                _opt(s.opened_at_ms),
                _opt(s.closed_at_ms),
                "1" if s.forced else "",
            ),
        )

    def release(self, key: str, token: str) -> None:
        self.client.zrem(probes_key(key), token)

    def read(self, key: str) -> dict[str, str] | None:
        return _text_fields(self.client.hgetall(hash_key(key))) or None

    def read_all(self) -> dict[str, dict[str, str]]:
        """Every circuit Redis knows, with its counters (one pipeline)."""
        keys = sorted(_text(k) for k in self.client.smembers(INDEX_KEY))
        pipe = self.client.pipeline(transaction=False)
        for key in keys:
            pipe.hgetall(hash_key(key))
        rows: dict[str, dict[str, str]] = {}
        for key, fields in zip(keys, pipe.execute(), strict=True):
            if fields:
                rows[key] = _text_fields(fields)
        return rows

    def ping(self) -> bool:
        return bool(self.client.ping())


def snapshot_from_fields(key: str, fields: dict[str, str]) -> Snapshot:
    return Snapshot(
        circuit_key=key,
        state=fields.get("state", "closed"),
        generation=int(fields.get("gen", 0)),
        failures=int(fields.get("failures", 0)),
        successes=int(fields.get("successes", 0)),
        last_failure_ms=_int(fields.get("last_failure")),
        opened_at_ms=_int(fields.get("opened_at")),
        closed_at_ms=_int(fields.get("closed_at")),
        forced=fields.get("forced") == "1",
    )


def _verdict(key: str, raw: Reply) -> Verdict:
    """A script's reply: short (verdict, state, generation, retry_after) on the hot path; the
    whole snapshot, the transition and the time when the script made a transition."""
    verdict, state, gen, retry_ms = raw[:4]
    if len(raw) == 4:
        snapshot = Snapshot(circuit_key=key, state=state.decode(), generation=int(gen))
        return Verdict(verdict.decode(), snapshot, retry_ms / 1000)
    (failures, successes, last_failure, opened_at, closed_at, transition, previous, forced, now) = (
        raw[4:]
    )
    snapshot = Snapshot(
        circuit_key=key,
        state=state.decode(),
        generation=int(gen),
        failures=int(failures),
        successes=int(successes),
        last_failure_ms=_int(last_failure),
        opened_at_ms=_int(opened_at),
        closed_at_ms=_int(closed_at),
        forced=forced == b"1",
    )
    return Verdict(
        verdict.decode(),
        snapshot,
        retry_ms / 1000,
        transition.decode(),
        previous.decode(),
        int(now),
    )


def _text(value: bytes | str) -> str:
    """A reply as text (the client returns bytes; its stubs allow str too)."""
    return value.decode() if isinstance(value, bytes) else value


def _text_fields(fields: Mapping[bytes | str, bytes | str]) -> dict[str, str]:
    return {_text(k): _text(v) for k, v in fields.items()}


def _int(value: bytes | str | None) -> int | None:
    return int(value) if value not in (None, b"", "") else None


def _opt(value: int | None) -> int | str:
    return "" if value is None else value
