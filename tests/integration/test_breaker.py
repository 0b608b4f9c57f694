"""The circuit breaker against real Redis and PostgreSQL: BEHAVIOUR §C and its defects §G-12..16.

Each test gets a redis-server of its own (started here, stopped by pid) and an injected clock that
drives both the Redis scripts and the local state, so cooldowns pass without sleeping.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time

import psycopg
import pytest

from booking_circuit_breaker import (
    CircuitBreaker,
    CircuitOpenError,
    CircuitTimeoutError,
    ServiceSettings,
    counts_server_errors,
)
from booking_circuit_breaker.shared import INDEX_KEY, hash_key
from tests.helpers import REPO, RedisServer, cli, query

COOLDOWN = 30.0


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def make_breaker(redis_server: RedisServer, clock: Clock):
    made: list[CircuitBreaker] = []

    def make(**kwargs) -> CircuitBreaker:
        kwargs.setdefault("redis_url", redis_server.url)
        kwargs.setdefault("clock", clock)
        kwargs.setdefault("timeout_seconds", 2)
        breaker = CircuitBreaker(**kwargs)
        made.append(breaker)
        return breaker

    yield make
    for breaker in made:
        breaker.close()


@pytest.fixture
def breaker(make_breaker) -> CircuitBreaker:
    return make_breaker()


class Boom(Exception):
    pass


def fail() -> None:
    raise Boom("service down")


def trip(breaker: CircuitBreaker, key: str, times: int = 3) -> None:
    for _ in range(times):
        with pytest.raises(Boom):
            breaker.execute(key, fail)


# -- §C.2 / C.3: the state machine ----------------------------------------------------------


def test_a_new_circuit_is_closed_and_runs_calls(breaker: CircuitBreaker) -> None:
    assert breaker.get_state("calcom") == "closed"
    assert breaker.execute("calcom", lambda a, b=0: a + b, 40, b=2) == 42
    assert breaker.is_available("calcom")
    stats = breaker.get_statistics("calcom")
    assert stats == {
        "circuit_key": "calcom",
        "state": "closed",
        "failure_count": 0,
        "success_count": 0,
        "last_failure_at": None,
        "opened_at": None,
        "closed_at": None,
    }


def test_three_consecutive_failures_open_it_and_keep_the_count(breaker, clock) -> None:
    trip(breaker, "calcom", 2)
    assert breaker.get_state("calcom") == "closed"
    assert breaker.get_statistics("calcom")["failure_count"] == 2
    breaker.execute("calcom", lambda: None)  # a success resets the consecutive count
    assert breaker.get_statistics("calcom")["failure_count"] == 0
    trip(breaker, "calcom", 3)
    stats = breaker.get_statistics("calcom")
    assert stats["state"] == "open"
    assert stats["failure_count"] >= 3  # §G-13: not wiped on opening
    assert stats["opened_at"].timestamp() == clock.now
    assert stats["last_failure_at"].timestamp() == clock.now


def test_open_rejects_without_running_the_operation_inside_the_cooldown(breaker, clock) -> None:
    trip(breaker, "calcom")
    ran = []
    clock.advance(COOLDOWN - 1)  # §G-15: fast fail is specified inside the cooldown
    with pytest.raises(CircuitOpenError) as raised:
        breaker.execute("calcom", ran.append, 1)
    assert ran == []
    assert "calcom" in str(raised.value) and "OPEN" in str(raised.value)
    assert raised.value.retry_after == pytest.approx(1.0)
    assert breaker.get_statistics("calcom")["failure_count"] == 3  # counters untouched
    assert not breaker.is_available("calcom")


def test_after_the_cooldown_a_probe_runs_and_two_successes_close_it(breaker, clock) -> None:
    trip(breaker, "calcom")
    opened_at = breaker.get_statistics("calcom")["opened_at"]
    clock.advance(COOLDOWN)
    assert breaker.is_available("calcom")
    assert breaker.execute("calcom", lambda: "first") == "first"
    assert breaker.get_state("calcom") == "half_open"
    assert breaker.get_statistics("calcom")["success_count"] == 1
    assert breaker.execute("calcom", lambda: "second") == "second"
    stats = breaker.get_statistics("calcom")
    assert (stats["state"], stats["failure_count"], stats["success_count"]) == ("closed", 0, 0)
    assert stats["opened_at"] is None and stats["closed_at"].timestamp() == clock.now
    assert opened_at is not None


def test_a_failure_in_half_open_reopens_with_a_new_cooldown(breaker, clock) -> None:
    trip(breaker, "calcom")
    clock.advance(COOLDOWN + 5)
    with pytest.raises(Boom):
        breaker.execute("calcom", fail)
    stats = breaker.get_statistics("calcom")
    assert stats["state"] == "open" and stats["opened_at"].timestamp() == clock.now
    clock.advance(COOLDOWN - 1)
    with pytest.raises(CircuitOpenError):
        breaker.execute("calcom", lambda: None)


@pytest.mark.parametrize("threshold", [1, 2])
def test_half_open_admits_only_success_threshold_probes(make_breaker, clock, threshold) -> None:
    """§G-12: the request that just moved open → half_open holds a probe slot too."""
    breaker = make_breaker(success_threshold=threshold)
    trip(breaker, "calcom")
    clock.advance(COOLDOWN)
    rejected: list[str] = []

    def nested(depth: int) -> None:
        if depth == threshold:  # every probe slot is held by an enclosing call
            with pytest.raises(CircuitOpenError) as raised:
                breaker.execute("calcom", lambda: None)
            rejected.append(str(raised.value))
            return
        breaker.execute("calcom", nested, depth + 1)

    nested(0)
    assert len(rejected) == 1 and "test request in progress" in rejected[0]


def test_a_crashed_probe_does_not_pin_half_open(breaker, redis_server, clock) -> None:
    trip(breaker, "calcom")
    clock.advance(COOLDOWN)
    # two probes admitted whose processes die: their leases stay behind in Redis
    for token in ("dead-1", "dead-2"):
        breaker._shared.admit("calcom", int(clock.now * 1000), 30_000, 2, 7_000, token)
    with pytest.raises(CircuitOpenError, match="test request in progress"):
        breaker.execute("calcom", lambda: None)
    clock.advance(7.1)  # lease = timeout (2 s) + 5 s
    assert breaker.execute("calcom", lambda: "probe") == "probe"


def test_circuits_are_independent_and_tenants_are_isolated(make_breaker) -> None:
    breaker = make_breaker()
    trip(breaker, "appointment_booking:service:1")
    assert breaker.get_state("appointment_booking:service:1") == "open"
    assert breaker.get_state("appointment_booking:service:2") == "closed"
    assert breaker.execute("appointment_booking:global", lambda: 1) == 1
    other_tenant = make_breaker(tenant=7)
    assert other_tenant.get_state("appointment_booking:service:1") == "closed"
    trip(other_tenant, "calcom")
    assert breaker.get_state("calcom") == "closed"


def test_the_operations_exception_reaches_the_caller_unchanged(breaker) -> None:
    error = Boom("exact object")

    def raise_it() -> None:
        raise error

    with pytest.raises(Boom) as raised:
        breaker.execute("calcom", raise_it)
    assert raised.value is error


def test_the_operations_own_timeout_error_is_not_taken_for_the_breakers(breaker) -> None:
    error = TimeoutError()  # no message, like the one the worker pool used to raise

    def raise_it() -> None:
        raise error

    with pytest.raises(TimeoutError) as raised:
        breaker.execute("calcom", raise_it)
    assert raised.value is error


def test_which_exceptions_count_is_configurable(make_breaker) -> None:
    class HTTPError(Exception):
        def __init__(self, status: int) -> None:
            self.status_code = status

    breaker = make_breaker(failure_predicate=counts_server_errors)

    def answer(status: int) -> None:
        raise HTTPError(status)

    for _ in range(5):
        with pytest.raises(HTTPError):
            breaker.execute("calcom", answer, 404)
    assert breaker.get_state("calcom") == "closed"
    for _ in range(3):
        with pytest.raises(HTTPError):
            breaker.execute("calcom", answer, 503)
    assert breaker.get_state("calcom") == "open"


def test_every_exception_counts_by_default_not_only_some_classes(breaker) -> None:
    """§G-16: the original missed PHP Errors; here TypeError & co. count like any failure."""
    for exc in (TypeError("t"), KeyError("k"), OSError("o")):
        with pytest.raises(type(exc)):
            breaker.execute("calcom", lambda e=exc: (_ for _ in ()).throw(e))
    assert breaker.get_state("calcom") == "open"


def test_state_key_has_a_ttl_after_one_failure(breaker, redis_server) -> None:
    """§G-14: the state is written on every record, with a TTL of at most a day."""
    trip(breaker, "calcom", 1)
    client = redis_server.client()
    assert client.hget(hash_key("calcom"), "state") == "closed"
    assert 0 < client.ttl(hash_key("calcom")) <= 86_400


def test_record_success_and_failure_apply_to_the_current_state(breaker, clock) -> None:
    for _ in range(3):
        breaker.record_failure("calcom")
    assert breaker.get_state("calcom") == "open"
    breaker.record_success("calcom")  # open: nothing
    assert breaker.get_statistics("calcom")["failure_count"] == 3
    clock.advance(COOLDOWN)
    breaker.execute("calcom", lambda: None)
    breaker.record_success("calcom")
    assert breaker.get_state("calcom") == "closed"


def test_a_late_result_from_an_earlier_state_is_discarded(breaker) -> None:
    breaker.execute("calcom", lambda: None)  # learn "closed"
    started, release = threading.Event(), threading.Event()

    def slow_failure() -> None:
        started.set()
        release.wait(5)
        raise Boom("late")

    def call() -> None:
        with pytest.raises(Boom):
            breaker.execute("calcom", slow_failure)

    worker = threading.Thread(target=call)
    worker.start()
    started.wait(5)
    breaker.force_open("calcom")
    breaker.force_close("calcom")  # a new generation, closed with zero failures
    release.set()
    worker.join(5)
    assert breaker.get_statistics("calcom")["failure_count"] == 0


def test_force_open_holds_until_closed_and_reset_forgets(breaker, clock) -> None:
    breaker.force_open("calcom")
    clock.advance(COOLDOWN * 10)
    with pytest.raises(CircuitOpenError):
        breaker.execute("calcom", lambda: None)
    breaker.force_close("calcom")
    assert breaker.execute("calcom", lambda: 1) == 1
    trip(breaker, "calcom")
    breaker.reset("calcom")
    stats = breaker.get_statistics("calcom")
    assert stats["state"] == "closed" and stats["failure_count"] == 0
    assert stats["closed_at"] is None and stats["opened_at"] is None


# -- the hot path: what the process trusts, what it counts later -----------------------------


def test_open_fails_fast_from_the_cache_and_sees_another_close_within_the_trust(
    make_breaker, redis_server, clock
) -> None:
    breaker, other = make_breaker(), make_breaker()
    trip(breaker, "calcom")
    client = redis_server.client()
    clock.advance(COOLDOWN - 10)
    with pytest.raises(CircuitOpenError):  # asks Redis: the admission script counts it
        breaker.execute("calcom", lambda: None)
    assert client.hget(hash_key("calcom"), "n_rejected") == "1"
    clock.advance(0.5)
    for _ in range(4):  # served from the cache: no round trip, so Redis has not counted them
        with pytest.raises(CircuitOpenError, match="is OPEN") as raised:
            breaker.execute("calcom", lambda: None)
    assert raised.value.retry_after == pytest.approx(9.5)
    assert client.hget(hash_key("calcom"), "n_rejected") == "1"
    breaker.flush()
    assert client.hget(hash_key("calcom"), "n_rejected") == "5"
    other.force_close("calcom")
    with pytest.raises(CircuitOpenError):  # still within state_cache_seconds (1 s) of asking
        breaker.execute("calcom", lambda: None)
    clock.advance(0.5)
    assert breaker.execute("calcom", lambda: "runs") == "runs"


def test_a_wall_clock_step_back_does_not_stretch_the_caches_trust(
    make_breaker, monkeypatch
) -> None:
    step = [0.0]
    wall = time.time
    monkeypatch.setattr(time, "time", lambda: wall() + step[0])  # before the breaker reads it
    breaker = make_breaker(clock=None, state_cache_seconds=0.3)
    other = make_breaker(clock=None)
    trip(breaker, "calcom")
    with pytest.raises(CircuitOpenError):  # Redis: open; the process trusts it for 0.3 s
        breaker.execute("calcom", lambda: None)
    step[0] = -3600.0  # NTP steps the wall clock back an hour
    other.force_close("calcom")
    time.sleep(0.5)
    assert breaker.execute("calcom", lambda: "runs") == "runs"


def test_an_older_reply_does_not_undo_what_a_newer_one_taught(breaker, monkeypatch) -> None:
    breaker.execute("calcom", lambda: None)  # learns "closed"
    healthy = breaker._shared.healthy
    answered, resume = threading.Event(), threading.Event()

    def late_healthy(key: str, generation: int) -> bool:
        said = healthy(key, generation)  # Redis: healthy ...
        answered.set()
        resume.wait(5)  # ... but the thread is descheduled before it caches "closed"
        return said

    monkeypatch.setattr(breaker._shared, "healthy", late_healthy)
    late = threading.Thread(target=breaker.execute, args=("calcom", lambda: None))
    late.start()
    assert answered.wait(5)
    monkeypatch.setattr(breaker._shared, "healthy", healthy)
    trip(breaker, "calcom")  # meanwhile this process opens the circuit
    resume.set()
    late.join()
    ran: list[int] = []
    for i in range(3):
        with pytest.raises(CircuitOpenError):
            breaker.execute("calcom", ran.append, i)
    assert ran == []


def test_the_cache_never_rejects_past_the_cooldown(breaker, clock) -> None:
    trip(breaker, "calcom")
    clock.advance(COOLDOWN - 0.2)
    with pytest.raises(CircuitOpenError) as raised:  # Redis: reopening in 0.2 s
        breaker.execute("calcom", lambda: None)
    assert raised.value.retry_after == pytest.approx(0.2)
    clock.advance(0.2)  # still within state_cache_seconds of asking, but the cooldown is over
    assert breaker.execute("calcom", lambda: "probe") == "probe"


def test_a_healthy_success_resets_failures_another_process_counted(make_breaker) -> None:
    ours, other = make_breaker(), make_breaker()
    ours.execute("calcom", lambda: None)  # learns "closed, no failures"
    trip(other, "calcom", 2)
    ours.execute("calcom", lambda: None)  # admitted from the cache; its success still resets
    assert ours.get_statistics("calcom")["failure_count"] == 0
    trip(other, "calcom", 2)
    assert other.get_state("calcom") == "closed"  # two consecutive failures, not four


def test_healthy_successes_reach_the_shared_counter_and_refresh_the_ttl(
    breaker, redis_server
) -> None:
    client = redis_server.client()
    key = hash_key("calcom")
    for _ in range(3):
        breaker.execute("calcom", lambda: None)
    assert client.hget(key, "n_success") is None  # counted in the process, not per call
    client.expire(key, 100)
    breaker.flush()
    assert client.hget(key, "n_success") == "3" and client.ttl(key) > 100
    breaker.execute("calcom", lambda: None)
    deadline = time.monotonic() + 5
    while client.hget(key, "n_success") != "4" and time.monotonic() < deadline:
        time.sleep(0.05)  # the background thread reports within a second
    assert client.hget(key, "n_success") == "4"


def test_counts_not_yet_reported_reach_redis_at_a_normal_exit(redis_server) -> None:
    code = (
        "from booking_circuit_breaker import CircuitBreaker\n"
        f"b = CircuitBreaker(redis_url={redis_server.url!r}, timeout_seconds=0)\n"
        "for _ in range(50):\n"
        "    b.execute('calcom', lambda: None)\n"
    )  # no close(), no flush(): the counts wait for the background thread (a daemon)
    env = {**os.environ, "PYTHONPATH": str(REPO / "plugins")}
    subprocess.run([sys.executable, "-c", code], check=True, env=env, timeout=60)
    assert redis_server.client().hget(hash_key("calcom"), "n_success") == "50"


def test_counts_whose_report_got_no_reply_are_dropped_not_added_twice(
    make_breaker, redis_server
) -> None:
    breaker = make_breaker(clock=None, timeout_seconds=0, redis_timeout_seconds=0.1)
    client = redis_server.client()
    key = hash_key("calcom")
    for _ in range(5):
        breaker.execute("calcom", lambda: None)
    breaker.flush()
    for _ in range(5):
        breaker.execute("calcom", lambda: None)
    busy = (  # Redis runs one command at a time: the report waits behind this one
        "local t = redis.call('TIME') local stop = t[1] * 1e6 + t[2] + 600000"
        " repeat t = redis.call('TIME') until t[1] * 1e6 + t[2] >= stop return 1"
    )
    blocker = threading.Thread(target=lambda: redis_server.client().eval(busy, 0))
    blocker.start()
    time.sleep(0.1)
    breaker.flush()  # the report is sent, its reply comes after the 0.1 s Redis timeout
    assert breaker.shared_state_up  # a late reply is no outage
    blocker.join()
    breaker.flush()
    assert client.hget(key, "n_success") == "10"  # added once, by the late report


def test_counts_redis_refused_wait_for_it_to_return(make_breaker, redis_server) -> None:
    breaker = make_breaker(clock=None, timeout_seconds=0, redis_retry_seconds=0.2)
    for _ in range(5):
        breaker.execute("calcom", lambda: None)
    redis_server.stop()
    breaker.flush()  # connection refused: nothing was sent, the counts wait
    assert not breaker.shared_state_up
    redis_server.start()
    deadline = time.monotonic() + 10
    while not breaker.shared_state_up and time.monotonic() < deadline:
        time.sleep(0.05)
    breaker.execute("calcom", lambda: None)  # Redis holds the circuit again (restored)
    breaker.flush()
    assert redis_server.client().hget(hash_key("calcom"), "n_success") == "6"


def test_a_circuit_an_older_release_keeps_does_not_reach_this_breaker(
    breaker, redis_server
) -> None:
    """During a rolling deploy the processes of an older release keep their circuits at the
    unversioned keys, in a layout without ``healthy``: this breaker neither reads nor writes them
    (each release runs its own breaker, right by its own scripts)."""
    client = redis_server.client()
    legacy = "circuit_breaker:calcom"  # the previous releases' key: no layout version
    client.hset(
        legacy,
        mapping={"state": "open", "gen": 7, "failures": 3, "last_failure": 1, "opened_at": 1},
    )
    client.zadd(f"{legacy}:probes", {"an-old-probe": 2_000_000_000_000})
    client.sadd("circuit_breaker:index", "calcom", "stripe")
    left = {key: client.dump(key) for key in (legacy, f"{legacy}:probes", "circuit_breaker:index")}
    for _ in range(3):
        assert breaker.execute("calcom", lambda: "ran") == "ran"
    assert client.hget(hash_key("calcom"), "n_success") is None  # healthy: counted in-process
    trip(breaker, "calcom", 2)
    breaker.execute("calcom", lambda: None)
    breaker.flush()
    ours = client.hgetall(hash_key("calcom"))
    assert (ours["state"], ours["failures"], ours["n_success"]) == ("closed", "0", "4")
    assert ours["healthy"] == ours["gen"]
    assert {key: client.dump(key) for key in left} == left
    assert client.smembers(INDEX_KEY) == {"calcom"}
    (row,) = breaker.overview()
    assert (row["state"], row["failure_count"], row["counters"]["n_success"]) == ("closed", 0, 4)


# -- timeouts, async, decorator, context manager -------------------------------------------


def test_a_hung_operation_is_cut_at_the_timeout_and_counts_as_failure(make_breaker) -> None:
    breaker = make_breaker(timeout_seconds=0.3)
    hang = threading.Event()
    for _ in range(3):
        started = time.monotonic()
        with pytest.raises(CircuitTimeoutError) as raised:
            breaker.execute("calcom", hang.wait, 30)
        assert time.monotonic() - started < 5  # cut, not waited out (30 s)
        assert isinstance(raised.value, TimeoutError)
    assert breaker.get_state("calcom") == "open"
    hang.set()


def test_a_forked_child_runs_its_timed_calls_on_threads_of_its_own(make_breaker) -> None:
    breaker = make_breaker(timeout_seconds=0.5)
    together = threading.Barrier(3)
    callers = [
        threading.Thread(target=breaker.execute, args=("calcom", together.wait)) for _ in "abc"
    ]
    for t in callers:
        t.start()
    for t in callers:
        t.join()
    pid = os.fork()
    if pid == 0:  # the parent's idle workers have no thread here
        ran: list[int] = []
        try:
            for i in range(4):
                breaker.execute("calcom", ran.append, i)
        finally:
            os._exit(0 if ran == [0, 1, 2, 3] else 1)
    assert os.waitpid(pid, 0)[1] == 0
    assert breaker.get_state("calcom") == "closed"
    assert breaker.execute("calcom", lambda: "parent") == "parent"


def test_execute_async(make_breaker) -> None:
    breaker = make_breaker(timeout_seconds=0.2)

    async def double(x: int) -> int:
        await asyncio.sleep(0)
        return 2 * x

    async def scenario() -> None:
        assert await breaker.execute_async("calcom", double, 21) == 42
        for _ in range(3):
            with pytest.raises(CircuitTimeoutError):
                await breaker.execute_async("calcom", asyncio.sleep, 10)
        with pytest.raises(CircuitOpenError):
            await breaker.execute_async("calcom", double, 1)

    asyncio.run(scenario())
    assert breaker.get_statistics("calcom")["failure_count"] == 3


def test_decorator_and_context_manager(breaker) -> None:
    @breaker.execute("calcom")
    def book(slot: str) -> str:
        return f"booked {slot}"

    @breaker.execute("calcom")
    async def book_async(slot: str) -> str:
        return f"booked {slot}"

    assert book("9:00") == "booked 9:00"
    assert asyncio.run(book_async("10:00")) == "booked 10:00"
    for _ in range(3):
        with pytest.raises(Boom), breaker.execute("calcom"):
            raise Boom("in block")
    assert breaker.get_state("calcom") == "open"
    with pytest.raises(CircuitOpenError):
        book("11:00")


# -- §C.4: durable state, Redis losing keys, listeners, alerts ------------------------------


def test_transitions_are_stored_in_postgresql(make_breaker, migrated_db, clock) -> None:
    breaker = make_breaker(database_url=migrated_db)
    breaker.execute("calcom", lambda: None)
    trip(breaker, "calcom", 2)
    breaker.flush()
    assert query(migrated_db, "SELECT count(*) FROM circuit_breaker_states")[0][0] == 0  # calls
    trip(breaker, "calcom", 1)
    breaker.flush()
    ((state, failures, opened, created, metadata),) = query(
        migrated_db,
        "SELECT state, failure_count, opened_at, created_at, metadata"
        " FROM circuit_breaker_states WHERE circuit_key = 'calcom'",
    )
    assert (state, failures, opened.timestamp()) == ("open", 3, clock.now)
    assert created is not None and metadata["transition"]["reason"] == "failure_threshold"
    clock.advance(COOLDOWN)
    breaker.execute("calcom", lambda: None)
    breaker.flush()
    # §G-16: half-open is stored when it happens, not when the trial ends
    assert query(migrated_db, "SELECT state FROM circuit_breaker_states")[0][0] == "half_open"


def test_state_is_reloaded_from_postgresql_when_redis_lost_it(
    make_breaker, migrated_db, redis_server, clock
) -> None:
    breaker = make_breaker(database_url=migrated_db)
    trip(breaker, "calcom")
    breaker.flush()
    redis_server.client().flushall()  # a restart without persistence, a failover
    fresh = make_breaker(database_url=migrated_db)
    with pytest.raises(CircuitOpenError):
        fresh.execute("calcom", lambda: None)
    assert fresh.get_statistics("calcom")["failure_count"] == 3


def test_an_open_circuit_raises_one_alert_that_notify_sends(
    migrated_db, redis_server, clock, slack, monkeypatch
) -> None:
    from booking_guard.breaker_alerts import circuit_breaker
    from booking_guard.notifications import notify
    from booking_guard.settings import Settings

    monkeypatch.setenv("BOOKING_GUARD_REDIS_URL", redis_server.url)
    settings = Settings.from_env(migrated_db)
    breaker = circuit_breaker(settings, clock=clock)
    try:
        trip(breaker, "appointment_booking:service:3")
        breaker.force_close("appointment_booking:service:3")
        trip(breaker, "appointment_booking:service:3")
        breaker.force_open("appointment_booking:service:3")  # still open: same alert
        breaker.flush()
    finally:
        breaker.close()
    rows = query(
        migrated_db,
        "SELECT alert_type, entity_type, entity_id, severity, resolved_at IS NULL,"
        " metadata->>'circuit_key' FROM data_consistency_alerts ORDER BY id",
    )
    ((circuit_id,),) = query(migrated_db, "SELECT id FROM circuit_breaker_states")
    assert [r[:5] for r in rows] == [
        ("circuit_open", "circuit", circuit_id, "critical", False),  # resolved by the close
        ("circuit_open", "circuit", circuit_id, "critical", True),
    ]
    report = notify(settings)
    assert report.sent == ["notify:circuit_open:none"]
    assert len(slack.texts) == 1 and "circuit_open" in slack.texts[0]


def test_listeners_hear_each_transition_once(make_breaker, clock) -> None:
    first, second = make_breaker(), make_breaker()
    heard: list[tuple[str, str, str]] = []
    for b in (first, second):
        b.add_listener(lambda c: heard.append((c.circuit_key, c.state, c.reason)))

    def settle() -> None:  # each breaker tells its listeners from its own thread
        first.flush()
        second.flush()

    trip(first, "calcom", 2)
    trip(second, "calcom", 1)
    settle()
    clock.advance(COOLDOWN)
    first.execute("calcom", lambda: None)
    settle()
    second.execute("calcom", lambda: None)
    settle()
    first.force_open("calcom")
    settle()
    assert heard == [
        ("calcom", "open", "failure_threshold"),
        ("calcom", "half_open", "cooldown_elapsed"),
        ("calcom", "closed", "probes_succeeded"),
        ("calcom", "open", "manual_open"),
    ]


# -- Redis down ---------------------------------------------------------------------------


def test_redis_down_local_breaker_from_postgresql_and_fail_closed_services(
    make_breaker, migrated_db, redis_server, clock, caplog
) -> None:
    strict = ServiceSettings(fail_open=False, timeout_seconds=2)
    breaker = make_breaker(database_url=migrated_db, services={"payments": strict})
    trip(breaker, "calcom")
    breaker.flush()
    redis_server.stop()
    with caplog.at_level("WARNING", logger="booking_circuit_breaker"):
        for _ in range(5):  # open, as stored: rejected without Redis errors reaching the caller
            with pytest.raises(CircuitOpenError):
                breaker.execute("calcom", lambda: None)
        assert breaker.execute("other", lambda: "runs") == "runs"
        with pytest.raises(CircuitOpenError, match="unavailable"):
            breaker.execute("payments", lambda: None)
    outage_logs = [r for r in caplog.records if "Redis unreachable" in r.getMessage()]
    assert len(outage_logs) == 1
    assert not breaker.shared_state_up
    trip(breaker, "other")  # the local breaker counts and opens
    assert breaker.get_state("other") == "open"
    breaker.flush()
    assert query(
        migrated_db, "SELECT state FROM circuit_breaker_states WHERE circuit_key = 'other'"
    ) == [("open",)]


# -- front doors: the CLI and the Airflow plugin ------------------------------------------


def test_cli_breaker_commands(migrated_db, redis_server) -> None:
    env = {"BOOKING_GUARD_REDIS_URL": redis_server.url}
    opened = cli("breaker", "open", "calcom", url=migrated_db, env=env)
    assert opened.returncode == 0, opened.stderr
    assert "calcom" in opened.stdout and "open" in opened.stdout
    status = cli("breaker", "status", "--json", url=migrated_db, env=env)
    assert status.returncode == 0
    assert '"state": "open"' in status.stdout
    assert query(migrated_db, "SELECT alert_type FROM data_consistency_alerts") == [
        ("circuit_open",)
    ]
    for action in ("close", "reset"):
        done = cli("breaker", action, "calcom", url=migrated_db, env=env)
        assert done.returncode == 0 and "closed" in done.stdout
    assert cli("breaker", "open", " ", url=migrated_db, env=env).returncode == 3
    with psycopg.connect(migrated_db) as conn:
        assert conn.execute("SELECT state FROM circuit_breaker_states").fetchone()[0] == "closed"


@pytest.fixture
def airflow_api(redis_server, migrated_db, monkeypatch):
    """Airflow's API server app (SQLite metadata of the session) with the plugin mounted."""
    import os
    import sys

    subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), "airflow"), "db", "migrate"],
        check=True,
        capture_output=True,
    )
    monkeypatch.setenv("BOOKING_GUARD_REDIS_URL", redis_server.url)
    monkeypatch.setenv("BOOKING_GUARD_DATABASE_URL", migrated_db)
    import booking_guard_plugin
    from airflow.api_fastapi.app import create_app, get_auth_manager
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser
    from fastapi.testclient import TestClient

    booking_guard_plugin._breaker.cache_clear()
    client = TestClient(create_app("core"))
    token = get_auth_manager().generate_jwt(SimpleAuthManagerUser(username="u", role="VIEWER"))
    yield client, token
    booking_guard_plugin._breaker().close()
    booking_guard_plugin._breaker.cache_clear()


@pytest.mark.slow
def test_airflow_plugin_shows_every_breaker_to_airflow_users(airflow_api, make_breaker) -> None:
    client, token = airflow_api
    breaker = make_breaker(clock=None)
    trip(breaker, "calcom")
    breaker.execute("appointment_booking:service:1", lambda: None)
    breaker.flush()  # the healthy successes reach the shared counters within 1 s, or now
    for path in ("state", "metrics", ""):
        assert client.get(f"/booking-guard/breakers/{path}").status_code == 401
    auth = {"Authorization": f"Bearer {token}"}
    state = client.get("/booking-guard/breakers/state", headers=auth).json()
    by_key = {c["circuit_key"]: c for c in state["circuits"]}
    assert state["shared_state_up"] is True
    assert by_key["calcom"]["state"] == "open" and by_key["calcom"]["failure_count"] == 3
    assert by_key["appointment_booking:service:1"]["counters"]["n_success"] == 1
    metrics = client.get("/booking-guard/breakers/metrics", cookies={"_token": token}).text
    assert 'booking_circuit_breaker_state{circuit="calcom",state="open"} 1' in metrics
    assert 'booking_circuit_breaker_calls_total{circuit="calcom",outcome="failure"} 3' in metrics
    assert 'booking_circuit_breaker_transitions_total{circuit="calcom",to="open"} 1' in metrics
    page = client.get("/booking-guard/breakers/", cookies={"_token": token})
    assert page.status_code == 200 and "<td>calcom</td><td>open</td>" in page.text
    plugins = client.get("/api/v2/plugins", headers=auth).json()["plugins"]
    (plugin,) = [p for p in plugins if p["name"] == "booking_guard"]
    assert plugin["fastapi_apps"][0]["url_prefix"] == "/booking-guard"
    assert plugin["external_views"][0]["href"] == "booking-guard/breakers/"
