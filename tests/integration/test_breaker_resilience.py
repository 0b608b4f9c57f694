"""Many processes on one breaker, and Redis dying under load: one transition, bounded probes,
no Redis error reaching a caller, state recovered."""

from __future__ import annotations

import multiprocessing
import threading
import time

import pytest

from booking_circuit_breaker import CircuitBreaker, CircuitOpenError, ServiceSettings
from booking_circuit_breaker.shared import hash_key
from tests.integration.test_breaker import Boom

PROCESSES = 8
KEY = "appointment_booking:service:1"


def _hammer_failures(url: str, barrier, results) -> None:
    breaker = CircuitBreaker(redis_url=url, cooldown_seconds=60, timeout_seconds=0)
    opened: list[str] = []
    breaker.add_listener(lambda change: opened.append(change.state))
    outcomes = {"failed": 0, "rejected": 0}
    barrier.wait()
    for _ in range(200):
        try:
            breaker.execute(KEY, _fail)
        except Boom:
            outcomes["failed"] += 1
        except CircuitOpenError:
            outcomes["rejected"] += 1
    breaker.flush()
    results.put((opened.count("open"), outcomes))


def _fail() -> None:
    raise Boom("down")


def _probe_once(url: str, barrier, ran, results) -> None:
    breaker = CircuitBreaker(redis_url=url, cooldown_seconds=60, timeout_seconds=0)

    def slow_probe() -> None:
        with ran.get_lock():
            ran.value += 1
        time.sleep(0.5)

    barrier.wait()
    try:
        breaker.execute(KEY, slow_probe)
        results.put("ran")
    except CircuitOpenError as exc:
        results.put(str(exc))


def _run(target, *args) -> list:
    ctx = multiprocessing.get_context("fork")
    barrier, results = ctx.Barrier(PROCESSES), ctx.Queue()
    extra = [ctx.Value("i", 0)] if target is _probe_once else []
    procs = [
        ctx.Process(target=target, args=(*args, barrier, *extra, results)) for _ in range(PROCESSES)
    ]
    for p in procs:
        p.start()
    out = [results.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(30)
        assert p.exitcode == 0
    return [out, *(e.value for e in extra)]


def test_many_processes_one_transition_to_open_and_bounded_probes(redis_server) -> None:
    (reports,) = _run(_hammer_failures, redis_server.url)
    assert sum(opened for opened, _ in reports) == 1  # exactly one process opened it
    failed = sum(o["failed"] for _, o in reports)
    rejected = sum(o["rejected"] for _, o in reports)
    assert failed + rejected == PROCESSES * 200 and rejected > 0
    client = redis_server.client()
    assert client.hget(hash_key(KEY), "n_open") == "1"
    assert int(client.hget(hash_key(KEY), "failures")) >= 3

    # the cooldown has passed: every process tries at once, only 2 (the success threshold) run
    opened_at = int(client.hget(hash_key(KEY), "opened_at"))
    client.hset(hash_key(KEY), "opened_at", opened_at - 61_000)
    outcomes, ran = _run(_probe_once, redis_server.url)
    assert ran == outcomes.count("ran") and 1 <= ran <= 2
    assert all(o == "ran" or "test request in progress" in o for o in outcomes)
    assert client.hget(hash_key(KEY), "n_half_open") == "1"
    assert client.hget(hash_key(KEY), "state") == ("closed" if ran == 2 else "half_open")


def test_redis_killed_and_restarted_mid_run(redis_server, migrated_db) -> None:
    breaker = CircuitBreaker(
        redis_url=redis_server.url,
        database_url=migrated_db,
        timeout_seconds=0,
        services={"calcom": ServiceSettings(cooldown_seconds=60, timeout_seconds=None)},
        redis_retry_seconds=0.2,
    )
    for _ in range(3):
        with pytest.raises(Boom):
            breaker.execute("calcom", _fail)
    breaker.flush()
    unexpected: list[BaseException] = []
    counts = {"healthy": 0, "rejected": 0}
    stop = threading.Event()

    def caller() -> None:
        while not stop.is_set():
            try:
                breaker.execute("healthy", lambda: None)
                counts["healthy"] += 1
                breaker.execute("calcom", lambda: None)
                unexpected.append(AssertionError("calcom ran while open"))
            except CircuitOpenError:
                counts["rejected"] += 1
            except BaseException as exc:
                unexpected.append(exc)

    threads = [threading.Thread(target=caller) for _ in range(4)]
    for t in threads:
        t.start()
    time.sleep(0.3)
    redis_server.stop()
    time.sleep(0.8)
    during_outage = dict(counts)
    assert not breaker.shared_state_up
    redis_server.start()  # empty: a restart without persistence
    deadline = time.monotonic() + 10
    while not breaker.shared_state_up and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)
    stop.set()
    for t in threads:
        t.join(10)
    breaker.close()
    assert unexpected == []
    assert breaker.shared_state_up
    assert counts["healthy"] > during_outage["healthy"] > 0
    # calcom's open state came back from PostgreSQL into the new Redis
    client = redis_server.client()
    assert client.hget(hash_key("calcom"), "state") == "open"
    assert client.hget(hash_key("calcom"), "failures") == "3"
