"""Event path latency: from the commit of a bad row to its open alert, with the real Airflow
processes (api-server, scheduler, dag-processor, triggerer; LocalExecutor) on this machine.

Each trial clears the direction of a clean call (the app's write, triggers on) and polls
``data_consistency_alerts`` until the ``missing_direction`` alert is open; trials are spaced so
that the previous DAG run has ended. The baseline, measured in the same run: the same steps
(drain, event run, alerts) called in-process, i.e. the work without Airflow's scheduling.
The 5-minute schedule alone averages 150 s plus the run's time.

    PYTHONPATH=include:plugins:. .venv/bin/python bench/events.py [--calls 100000] [--runs 20]
"""

from __future__ import annotations

import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from scratch import parser, scratch_database

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from booking_guard import change_events, detection, monitor  # noqa: E402
from booking_guard.settings import Settings  # noqa: E402
from tests.helpers import query  # noqa: E402
from tests.integration.test_events import event_path_airflow, wait_for_open_alert  # noqa: E402

SPACING_SECONDS = 8


def clean_calls(url: str, count: int) -> list[int]:
    rows = query(
        url,
        "SELECT id FROM calls WHERE deleted_at IS NULL AND coalesce(direction, '') <> ''"
        " ORDER BY id LIMIT %s",
        (count,),
    )
    return [i for (i,) in rows]


def in_process(url: str, call_id: int) -> float:
    """The floor: the event run's work for one bad write, no Airflow in between."""
    started = time.perf_counter()
    query(url, "UPDATE calls SET direction = NULL WHERE id = %s", (call_id,))
    batch = change_events.drain(url)
    run = detection.detect_entities(
        url, call_ids=batch.call_ids, appointment_ids=batch.appointment_ids
    )
    monitor.record(Settings.from_env(url), run)
    return time.perf_counter() - started


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main() -> None:
    options = parser(__doc__)
    options.set_defaults(calls=100_000, runs=20)
    args = options.parse_args()
    with scratch_database(args.server, calls=args.calls) as url:
        calls = clean_calls(url, 2 * args.runs)
        floor = [in_process(url, call_id) for call_id in calls[args.runs :]]
        latencies: list[float] = []
        missed = 0
        home = Path(tempfile.mkdtemp(prefix="bg_bench_airflow_"))
        with event_path_airflow(url, home / "airflow"):
            for call_id in calls[: args.runs]:
                query(url, "UPDATE calls SET direction = NULL WHERE id = %s", (call_id,))
                seconds = wait_for_open_alert(url, "missing_direction", call_id, 120)
                if seconds is None:
                    missed += 1
                else:
                    latencies.append(seconds)
                    print(f"trial {len(latencies) + missed}: {seconds:.1f} s", flush=True)
                time.sleep(SPACING_SECONDS)
        shutil.rmtree(home, ignore_errors=True)
    print(f"calls {args.calls}, trials {args.runs}, missed (> 120 s) {missed}")
    print(f"in-process floor: median {statistics.median(floor):.3f} s")
    if latencies:
        print(
            f"commit to open alert: p50 {percentile(latencies, 0.5):.1f} s,"
            f" p95 {percentile(latencies, 0.95):.1f} s, max {max(latencies):.1f} s"
            f" (targets p50 <= 15 s, p95 <= 30 s);"
            f" p50 / floor {percentile(latencies, 0.5) / statistics.median(floor):.0f}x"
        )


if __name__ == "__main__":
    main()
