"""The sharded full scan against the single-task one, on the same seeded database, same run.

    .venv/bin/python bench/sharding.py [--calls 1000000] [--runs 3]

Single task: one process, the rules on one connection (``workers=1``, one Airflow task's view of
the database) and on two (the default). Sharded: two shards scanned at once by two processes, as
two Celery workers would, then merged. Every variant detects into its own run; the times are
detection only (alerts are the same afterwards, see tests/integration/test_sharding.py).
"""

from __future__ import annotations

import statistics
import time
from concurrent.futures import ProcessPoolExecutor

from scratch import parser, scratch_database

from booking_guard import detection
from booking_guard.rules import Shard


def _scan(url: str, run: detection.DetectionRun, index: int, count: int) -> detection.DetectionRun:
    return detection.scan_shard(url, run, Shard(index, count))


def sharded(url: str, pool: ProcessPoolExecutor, shards: int) -> float:
    started = time.perf_counter()
    run = detection.open_run(url, "full", None)
    jobs = [pool.submit(_scan, url, run, k, shards) for k in range(shards)]
    parts = [job.result() for job in jobs]
    detection.merge_shards(url, run, parts)
    return time.perf_counter() - started


def single(url: str, workers: int) -> float:
    started = time.perf_counter()
    detection.detect(url, full=True, workers=workers)
    return time.perf_counter() - started


def main() -> None:
    args = parser(__doc__).parse_args()
    with scratch_database(args.server, calls=args.calls) as url, ProcessPoolExecutor(2) as pool:
        sharded(url, pool, 2)  # warm the cache and the pool's processes
        times: dict[str, list[float]] = {
            "one task, 1 connection": [],
            "one task, 2 connections": [],
            "2 shards, 2 processes": [],
        }
        for run in range(args.runs):
            times["one task, 1 connection"].append(single(url, 1))
            times["one task, 2 connections"].append(single(url, 2))
            times["2 shards, 2 processes"].append(sharded(url, pool, 2))
            print(f"run {run + 1}: " + ", ".join(f"{k} {v[-1]:.2f} s" for k, v in times.items()))
        base = statistics.median(times["one task, 1 connection"])
        for name, values in times.items():
            median = statistics.median(values)
            print(f"{name:<26} median {median:.2f} s  speed-up {base / median:.2f}x")


if __name__ == "__main__":
    main()
