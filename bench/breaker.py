"""Circuit breaker overhead per protected call, against a bare Redis GET and pybreaker 1.4.

One run, one private redis-server (started here, stopped by its pid), the same no-op operation:

- healthy closed path: our breaker (with its signal-free timeout, and with the timeout off),
  pybreaker with its Redis storage, and a bare GET — interleaved in rounds so that the shared
  machine's noise hits all of them alike; p50 / p99 over ``--calls`` calls each;
- fast fail of an open breaker (inside its cooldown), interleaved with GETs the same way;
- Redis down: the first call (detection), then ``--calls`` calls on the local breaker (no GET
  to compare with: Redis is gone; the GET's p99 of the first part tells the machine's noise).

"vs GET" is the ratio of the pooled p50s; "per round" the median of each round's p50 ratio
(robust to the machine's load drifting during the run).

Needs pybreaker: ``.venv/bin/pip install --no-deps -r bench/requirements-bench.txt``.
Run: ``.venv/bin/python bench/breaker.py [--calls 20000] [--rounds 10]``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import time
from pathlib import Path

import redis

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "plugins"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the tests' private redis-server

import pybreaker

from booking_circuit_breaker import CircuitBreaker, CircuitOpenError
from booking_circuit_breaker.shared import connect
from tests.helpers import RedisServer


def noop() -> None:
    return None


def timed(fn, n: int) -> list[int]:
    out = []
    clock = time.perf_counter_ns
    for _ in range(n):
        start = clock()
        fn()
        out.append(clock() - start)
    return out


def pct(samples: list[int], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] / 1000


def interleaved(contenders: dict, calls: int, rounds: int) -> tuple[dict, dict]:
    """Each contender ``calls`` times in ``rounds`` alternating blocks: the samples, and each
    round's p50 ratio to the first contender (the GET)."""
    samples: dict[str, list[int]] = {name: [] for name in contenders}
    ratios: dict[str, list[float]] = {name: [] for name in contenders}
    per_round = calls // rounds
    for fn in contenders.values():  # warm up: connections, scripts, threads
        timed(fn, 500)
    for _ in range(rounds):
        this_round = {name: timed(fn, per_round) for name, fn in contenders.items()}
        base = pct(next(iter(this_round.values())), 0.5)
        for name, values in this_round.items():
            samples[name] += values
            ratios[name].append(pct(values, 0.5) / base)
    return samples, ratios


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    server = RedisServer()
    url = server.url
    try:
        client = connect(url, 0.25)
        client.set("bench:get", "x")
        ours = CircuitBreaker(redis_url=url, timeout_seconds=10)
        ours_inline = CircuitBreaker(redis_url=url, timeout_seconds=0)
        theirs = pybreaker.CircuitBreaker(
            fail_max=3,
            reset_timeout=30,
            success_threshold=2,
            state_storage=pybreaker.CircuitRedisStorage(
                pybreaker.STATE_CLOSED, redis.Redis(port=server.port), namespace="bench"
            ),
        )
        contenders = {
            "bare Redis GET": lambda: client.get("bench:get"),
            "booking_circuit_breaker (timeout 10 s, worker thread)": lambda: ours.execute(
                "calcom", noop
            ),
            "booking_circuit_breaker (timeout off, inline)": lambda: ours_inline.execute(
                "calcom-inline", noop
            ),
            "pybreaker 1.4.1, Redis storage": lambda: theirs.call(noop),
        }
        load_before = os.getloadavg()[0]
        samples, ratios = interleaved(contenders, args.calls, args.rounds)

        ours.force_open("calcom")

        def fast_fail() -> None:
            with contextlib.suppress(CircuitOpenError):
                ours.execute("calcom", noop)

        more, more_ratios = interleaved(
            {
                "bare Redis GET (with the fast fails)": contenders["bare Redis GET"],
                "fast fail, open breaker (inside cooldown)": fast_fail,
            },
            args.calls,
            args.rounds,
        )
        samples |= more
        ratios |= more_ratios
        ours.force_close("calcom")

        server.stop()
        start = time.perf_counter_ns()
        ours.execute("calcom", noop)
        detection_us = (time.perf_counter_ns() - start) / 1000
        samples["Redis down, after detection (timeout 10 s)"] = timed(
            lambda: ours.execute("calcom", noop), args.calls
        )
        ours_inline.execute("calcom-inline", noop)
        samples["Redis down, after detection (timeout off)"] = timed(
            lambda: ours_inline.execute("calcom-inline", noop), args.calls
        )
    finally:
        server.stop()

    base = pct(samples["bare Redis GET"], 0.5)
    print(f"{args.calls:,} calls each, {args.rounds} interleaved rounds; times in µs")
    print(f"load average (1 min) before / after: {load_before:.1f} / {os.getloadavg()[0]:.1f}")
    print(f"| {'':<55} | p50 | p99 | p50 vs GET | per round |")
    print(f"|{'-' * 57}|---:|---:|---:|---:|")
    for name, values in samples.items():
        p50, p99 = pct(values, 0.5), pct(values, 0.99)
        per_round = f"{statistics.median(ratios[name]):.2f}x" if name in ratios else ""
        print(f"| {name:<55} | {p50:.0f} | {p99:.0f} | {p50 / base:.2f}x | {per_round} |")
    print(f"first call after Redis died (detection): {detection_us:.0f} µs")


if __name__ == "__main__":
    main()
