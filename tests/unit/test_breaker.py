"""The breaker's parts that need no Redis: settings, the import footprint, retries, timeouts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time

import pytest

from booking_circuit_breaker import (
    BreakerConfigurationError,
    BreakerSettings,
    CircuitOpenError,
    ServiceSettings,
    backoff_delay,
    counts_server_errors,
    retry,
)
from booking_circuit_breaker.metrics import LocalCounters
from booking_circuit_breaker.state import CLOSED, HALF_OPEN, OPEN, LocalCircuit, Snapshot
from booking_circuit_breaker.workers import WorkerPool
from tests.helpers import REPO


def test_package_imports_neither_airflow_nor_booking_guard_nor_gx_nor_pandas() -> None:
    code = (
        "import json, sys; import booking_circuit_breaker;"
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(REPO / "plugins")},
    ).stdout
    top_level = set(json.loads(out))
    assert "booking_circuit_breaker" in top_level
    assert top_level.isdisjoint({"airflow", "booking_guard", "great_expectations", "pandas"})
    assert {"redis", "psycopg"} <= top_level


def test_settings_come_from_the_environment_and_arguments_override() -> None:
    env = {
        "CIRCUIT_BREAKER_FAILURE_THRESHOLD": "5",
        "CIRCUIT_BREAKER_COOLDOWN_SECONDS": "12",
        "CIRCUIT_BREAKER_SUCCESS_THRESHOLD": "4",
        "CIRCUIT_BREAKER_TIMEOUT_SECONDS": "3",
        "BOOKING_GUARD_REDIS_URL": "redis://127.0.0.1:6390/2",
        "BOOKING_GUARD_DATABASE_URL": "postgresql://postgres@127.0.0.1/x",
    }
    s = BreakerSettings.from_env(env)
    assert (s.defaults.failure_threshold, s.defaults.cooldown_seconds) == (5, 12.0)
    assert (s.defaults.success_threshold, s.defaults.timeout_seconds) == (4, 3.0)
    assert s.redis_url.endswith(":6390/2") and s.database_url.endswith("/x")
    s = BreakerSettings.from_env(env, failure_threshold=2, timeout_seconds=0, redis_url="redis://h")
    assert s.defaults.failure_threshold == 2 and s.defaults.timeout_seconds is None
    assert s.redis_url == "redis://h" and s.defaults.cooldown_seconds == 12.0
    s = BreakerSettings.from_env(env, database_url=None, redis_retry_seconds=0.2)  # None: env
    assert s.database_url.endswith("/x") and s.redis_retry_seconds == 0.2
    assert BreakerSettings.from_env({}).defaults == ServiceSettings()


def test_bad_settings_name_the_setting() -> None:
    with pytest.raises(BreakerConfigurationError, match="CIRCUIT_BREAKER_COOLDOWN_SECONDS"):
        BreakerSettings.from_env({"CIRCUIT_BREAKER_COOLDOWN_SECONDS": "soon"})
    with pytest.raises(BreakerConfigurationError, match="failure_threshold"):
        BreakerSettings.from_env({}, failure_threshold=0)
    with pytest.raises(TypeError, match="failure_treshold"):
        BreakerSettings.from_env({}, failure_treshold=3)  # a typo is not silently ignored


def test_per_service_settings_match_by_pattern() -> None:
    calcom = ServiceSettings(failure_threshold=9, fail_open=False)
    s = BreakerSettings(services={"appointment_booking:service:*": calcom})
    assert s.for_key("appointment_booking:service:7") is calcom
    assert s.for_key("calcom") == ServiceSettings()
    # the trusted "closed" never outlives half the cooldown
    assert s.cache_seconds(ServiceSettings(cooldown_seconds=1)) == 0.5


class HTTPError(Exception):
    def __init__(self, status_code: int) -> None:
        self.response = type("Response", (), {"status_code": status_code})()


def test_http_predicate_counts_5xx_and_timeouts_not_4xx() -> None:
    assert counts_server_errors(HTTPError(503)) and counts_server_errors(HTTPError(429))
    assert not counts_server_errors(HTTPError(404))
    assert counts_server_errors(TimeoutError()) and counts_server_errors(ConnectionError())
    assert not counts_server_errors(KeyboardInterrupt())


def test_backoff_is_full_jitter_doubling_and_capped() -> None:
    assert [backoff_delay(n, 1.0, 30.0, rng=lambda: 1.0) for n in (1, 2, 3, 4)] == [1, 2, 4, 8]
    assert backoff_delay(10, 1.0, 30.0, rng=lambda: 1.0) == 30.0
    assert backoff_delay(3, 1.0, 30.0, rng=lambda: 0.25) == 1.0


def test_retry_returns_first_success_and_reraises_the_last_error_unchanged() -> None:
    slept: list[float] = []
    calls = iter([ValueError("a"), ValueError("b"), "ok"])

    def flaky() -> str:
        item = next(calls)
        if isinstance(item, Exception):
            raise item
        return item

    assert retry(flaky, attempts=3, sleep=slept.append, rng=lambda: 1.0) == "ok"
    assert slept == [1.0, 2.0]
    last = ValueError("last")
    errors = iter([ValueError("first"), last])

    def failing() -> None:
        raise next(errors)

    with pytest.raises(ValueError) as raised:
        retry(failing, attempts=2, sleep=slept.append)
    assert raised.value is last


def test_retry_gives_way_to_an_open_breaker() -> None:
    slept: list[float] = []
    attempts = iter([CircuitOpenError("calcom", 2.5), "ok"])

    def call() -> str:
        item = next(attempts)
        if isinstance(item, Exception):
            raise item
        return item

    assert retry(call, attempts=3, sleep=slept.append, max_delay=30) == "ok"
    assert slept == [2.5]  # waited what the breaker asked, not a jittered guess
    with pytest.raises(CircuitOpenError):  # will not be admitted within max_delay: stop now
        retry(lambda: (_ for _ in ()).throw(CircuitOpenError("calcom", 60)), sleep=slept.append)
    assert slept == [2.5]


def test_worker_pool_cuts_a_hung_call_and_reuses_threads() -> None:
    pool = WorkerPool()
    release = threading.Event()
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        pool.run(release.wait, (5,), {}, 0.2)
    assert time.monotonic() - started < 1.0
    assert pool.run(lambda x: x * 2, (21,), {}, 1.0) == 42
    with pytest.raises(KeyError):
        pool.run({}.__getitem__, ("missing",), {}, 1.0)
    release.set()
    time.sleep(0.1)  # the cut call ends now: its late outcome must reach no other call
    assert [pool.run(str, (n,), {}, 1.0) for n in range(4)] == ["0", "1", "2", "3"]


def test_local_counters_keep_what_redis_lacks_until_taken_and_a_fork_forgets_it() -> None:
    counters = LocalCounters()
    assert counters.add("k", "success", "n_success") is True  # the first: schedule a report
    assert counters.add("k", "success", "n_success") is False
    assert counters.add("k", "failure") is False
    pid = os.fork()
    if pid == 0:  # the child: what the parent counted is the parent's to report
        os._exit(0 if counters.unreported_since is None and not counters.take_unreported() else 1)
    assert os.waitpid(pid, 0)[1] == 0
    taken = counters.take_unreported()
    assert taken == {("k", "n_success"): 2} and counters.unreported_since is None
    counters.put_back(taken)
    assert counters.take_unreported() == taken
    assert counters.get("k", "success") == 2 and counters.get("k", "failure") == 1


def test_local_circuit_follows_the_same_rules() -> None:
    c = LocalCircuit(Snapshot("k"))
    for now in (1, 2):
        assert c.failure(now, None, 3, None).transition is None
    v = c.failure(3, None, 3, None)
    assert (v.transition, v.snapshot.failures) == (OPEN, 3)
    assert c.admit(1000, 30_000, 2, 15_000, "t0").verdict == "reject"
    v = c.admit(30_003, 30_000, 2, 15_000, "t1")
    assert (v.verdict, v.transition) == ("probe", HALF_OPEN)
    assert c.admit(30_004, 30_000, 2, 15_000, "t2").verdict == "probe"
    assert c.admit(30_005, 30_000, 2, 15_000, "t3").verdict == "busy"
    assert c.admit(45_004, 30_000, 2, 15_000, "t4").verdict == "probe"  # leases expired
    gen = c.s.generation
    c.success(45_005, gen, 2, "t4")
    v = c.success(45_006, gen, 2, None)
    assert (v.transition, v.snapshot.state, v.snapshot.failures) == (CLOSED, CLOSED, 0)
    assert c.success(45_007, gen, 2, None).verdict == "stale"


def test_plugin_module_imports_neither_gx_nor_pandas() -> None:
    code = (
        "import json, sys; import booking_guard_plugin;"
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(REPO / "plugins"), "AIRFLOW__CORE__LOAD_EXAMPLES": "False"},
    ).stdout.splitlines()[-1]
    top_level = set(json.loads(out))
    assert "airflow" in top_level
    assert top_level.isdisjoint({"great_expectations", "pandas", "booking_guard"})
