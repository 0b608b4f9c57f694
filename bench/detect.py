"""Detection cost as issue #14 asks: the alert path's task work, in-process, against baselines
measured in the same run.

The DAG ``consistency_monitor`` runs the alert path as separate tasks (detect → record_alerts →
correct_<rule> … → notify; GX is not imported there, validation is its own branch). This script
imports everything first, then calls the same task bodies (``booking_guard.airflow.tasks``) with
an Airflow-like context and times each with ``time.perf_counter``; "task work" is their sum.
``notify`` sends to Slack through the real channel and Airflow connection, pointed at the tests'
local stand-in (an HTTP server on 127.0.0.1): the first full scan sends one message per (rule,
company), later runs only what is new. The interpreter start and the imports of a task process
are measured apart, in fresh processes. This server runs PostgreSQL with autovacuum off, so the
script vacuums and analyzes the monitor's tables where autovacuum would have: after a full scan
that opened, updated or pruned many rows (before each measured full scan, outside the timing).

1. Full scan, 1,000,000 seeded calls: detect (full) + record_alerts against the floor (each
   rule's SQL once, on one connection, its keys into a temp table), alternating which goes first.
   For reference: the floor on two connections (the engine's default ``rule_workers``), the
   corrections and notify, and ``booking-guard check --full`` as a fresh process (rules, GX
   validation and Data Docs, alerts) with its peak RSS.
2. Incremental run over 1,000 changed calls with nothing new: the same 1,000 clean calls (no
   finding on them or their appointments in the full scan) get ``updated_at = now()``, then the
   run gets the data interval of a scheduled run ending now, so the window is what the DAG sets
   (the interval minus the overlap, reaching back to the last successful run).
3. The same incremental run on a 4,000,000-call database, alternating with the 1,000,000 one.

Also: the GX validation branch's work (in-process, GX imported first) and DAG parse times.

    .venv/bin/python bench/detect.py [--calls 1000000] [--large-calls 4000000] [--runs 5]
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from airflow.sdk.exceptions import AirflowFailException
from psycopg import sql
from scratch import parser, scratch_database

from booking_guard import expectations
from booking_guard.airflow import tasks
from booking_guard.corrections import correctable_rules
from booking_guard.rules import RULES, ScopeKind

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # the tests' Slack stand-in
from tests.helpers import SlackStandIn  # noqa: E402

CHANGED_CALLS = 1_000
# Slack only (a local stand-in, see main), and no daily full scan hidden in a data interval.
TASK_ENV = {
    "DATA_CONSISTENCY_ALERT_SLACK": "true",
    "DATA_CONSISTENCY_ALERT_EMAIL": "false",
    "BOOKING_GUARD_FULL_SCAN_AT": "",
}
# What autovacuum would have done by the next run; the server here runs with it off.
AUTOVACUUM = "VACUUM ANALYZE data_consistency_alerts, bg_rule_findings, bg_check_runs"
# A task process: the interpreter, the alert path's imports, the DAG file every task process
# runs (it imports airflow.sdk), and the GX import of the validation branch.
ALERT_PATH_IMPORTS = (
    "import booking_guard.airflow.tasks, booking_guard.monitor, booking_guard.corrections"
)
DAG_FILE = REPO / "dags" / "consistency_monitor.py"
IMPORTS = {
    "interpreter alone": "pass",
    "+ the alert path's library (tasks, monitor, corrections)": ALERT_PATH_IMPORTS,
    "+ the DAG file consistency_monitor.py (airflow.sdk, the DAG)": (
        f"{ALERT_PATH_IMPORTS}; import runpy; runpy.run_path({str(DAG_FILE)!r})"
    ),
    "+ great_expectations (the validate branch only)": f"{ALERT_PATH_IMPORTS}, great_expectations",
}
# Live calls without a finding of the given run on them or on their appointments, spread evenly.
CLEAN_CALLS = """
SELECT id FROM (
    SELECT c.id, row_number() OVER (ORDER BY c.id) AS n, count(*) OVER () AS total
      FROM calls c
     WHERE c.deleted_at IS NULL
       AND NOT EXISTS (SELECT 1 FROM bg_rule_findings f
                        WHERE f.run_id = %(run_id)s AND f.entity_type = 'call'
                          AND f.entity_id = c.id)
       AND NOT EXISTS (SELECT 1 FROM appointments a
                         JOIN bg_rule_findings f ON f.run_id = %(run_id)s
                              AND f.entity_type = 'appointment' AND f.entity_id = a.id
                        WHERE a.call_id = c.id)
) AS clean
WHERE n %% (total / %(calls)s) = 0
ORDER BY id
LIMIT %(calls)s
"""

Laps = dict[str, float]


def use_database(url: str) -> None:
    """What ``settings()`` reads inside a task: the database of this step."""
    os.environ.pop("BOOKING_GUARD_DATABASE_CONN_ID", None)
    os.environ.update(TASK_ENV, BOOKING_GUARD_DATABASE_URL=url)


def autovacuum(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(AUTOVACUUM)


def timed(laps: Laps, name: str, step: Callable[..., Any], *args: Any) -> Any:
    started = time.perf_counter()
    try:
        return step(*args)
    finally:
        laps[name] = time.perf_counter() - started


@dataclass
class PathRun:
    """One DAG run's alert path: the run (as XCom), its alert changes, the task laps, and the
    correctable rules the blast-radius limit stopped."""

    run: dict[str, Any]
    changes: dict[str, Any]
    laps: Laps
    blocked: list[str] = field(default_factory=list)

    @property
    def corrections(self) -> float:
        return sum(seconds for name, seconds in self.laps.items() if name.startswith("correct_"))


def alert_path(url: str, context: dict[str, Any]) -> PathRun:
    """One DAG run's alert path, task body by task body.

    A correction stopped by the blast-radius limit fails its task (as in Airflow) after doing
    its work, which is counted; ``notify`` runs after all of them, as its ALL_DONE trigger does.
    """
    use_database(url)
    laps: Laps = {}
    run = timed(laps, "detect", tasks.detect, context)
    path = PathRun(run, timed(laps, "record_alerts", tasks.record_alerts, run), laps)
    for rule in correctable_rules():
        try:
            timed(laps, f"correct_{rule.id}", tasks.correct, run, rule.id)
        except AirflowFailException:
            path.blocked.append(rule.id)
    timed(laps, "notify", tasks.notify)
    return path


def full_context() -> dict[str, Any]:
    """A manual trigger with ``{"full": true}``: no data interval."""
    return {"params": {"full": True}}


def scheduled_context() -> dict[str, Any]:
    """A scheduled run whose 5-minute data interval ends now."""
    end = datetime.now(UTC)
    return {
        "params": {"full": False},
        "data_interval_start": end - timedelta(minutes=5),
        "data_interval_end": end,
    }


def floor(url: str, connections: int = 1) -> tuple[float, dict[str, float]]:
    """Each rule's query once, keys into a temp table: the least any engine must do. On more
    than one connection the rules are taken from one queue in registry order, as the engine
    takes them."""
    queue = list(RULES)
    per_rule: dict[str, float] = {}

    def work() -> None:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(
                "CREATE TEMP TABLE floor_keys (rule_id text, entity_type text, entity_id bigint)"
            )
            while True:
                try:
                    rule = queue.pop(0)
                except IndexError:
                    return
                query = sql.SQL(
                    "INSERT INTO floor_keys SELECT %(rule_id)s, entity_type, entity_id FROM ({}) f"
                ).format(rule.query(ScopeKind.FULL))
                started = time.perf_counter()
                conn.execute(query, {"rule_id": rule.id})
                per_rule[rule.id] = time.perf_counter() - started

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=connections) as pool:
        for future in [pool.submit(work) for _ in range(connections)]:
            future.result()
    return time.perf_counter() - started, per_rule


def check_process(url: str, gx_dir: str) -> tuple[float, float]:
    """One ``booking-guard check --full --no-notify`` process: wall seconds, peak RSS in MB."""
    env = {**os.environ, "BOOKING_GUARD_GX_DIR": gx_dir}
    command = [sys.executable, "-m", "booking_guard", "--database-url", url, "check"]
    command += ["--no-notify", "--json", "--full"]
    started = time.perf_counter()
    with tempfile.TemporaryFile("w+") as err:
        child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=err, env=env)
        _, status, usage = os.wait4(child.pid, 0)  # this child's own peak RSS
        seconds = time.perf_counter() - started
        if os.waitstatus_to_exitcode(status) == 3:
            err.seek(0)
            raise SystemExit(f"check failed: {err.read().strip()}")
    return seconds, usage.ru_maxrss / 1024


def import_seconds(code: str) -> tuple[float, float]:
    """A fresh interpreter running ``code``: wall seconds and CPU seconds (user + system)."""
    started = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    if os.waitstatus_to_exitcode(status):
        raise SystemExit(f"import failed: {code}")
    return time.perf_counter() - started, usage.ru_utime + usage.ru_stime


def clean_calls(url: str, run_id: int) -> list[int]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(CLEAN_CALLS, {"run_id": run_id, "calls": CHANGED_CALLS}).fetchall()
    if len(rows) != CHANGED_CALLS:
        raise SystemExit(f"found {len(rows)} clean calls, not {CHANGED_CALLS}")
    return [row[0] for row in rows]


def touch(url: str, call_ids: list[int]) -> None:
    """The calls change now (no column a rule reads): in the next window, nothing new."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("UPDATE calls SET updated_at = now() WHERE id = ANY(%s)", (call_ids,))


def incremental(url: str, call_ids: list[int]) -> Laps:
    """Touch the calls, then one scheduled run's alert path over them; it must find nothing."""
    touch(url, call_ids)
    path = alert_path(url, scheduled_context())
    if path.run["mode"] != "incremental" or sum(path.run["counts"].values()):
        raise SystemExit(f"the incremental run was not clean: {path}")
    return path.laps


def dag_parse_seconds() -> dict[str, float]:
    code = (
        "import json, sys; from airflow.dag_processing.dagbag import DagBag;"
        " bag = DagBag(dag_folder=sys.argv[1]);"
        " print(json.dumps({s.file: getattr(s.duration, 'total_seconds', lambda: s.duration)()"
        " for s in bag.dagbag_stats}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(REPO / "dags")], capture_output=True, text=True, check=True
    )
    parsed: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return parsed


def median(values: list[float]) -> float:
    return statistics.median(values)


def verdict(met: bool) -> str:
    return "met" if met else "MISSED"


def full_scan_rounds(url: str, runs: int, gx_dir: str) -> int:
    """Target 1, alternating which side goes first; returns the id of the last full run."""
    path = alert_path(url, full_context())
    print(
        f"first full scan (opens every alert): detect {path.laps['detect']:.2f} s, record_alerts"
        f" {path.laps['record_alerts']:.2f} s, {path.changes['opened']:,} alerts opened;"
        f" notify {path.laps['notify']:.2f} s"
    )
    autovacuum(url)
    floors, floors2, works, extras, checks, peaks = [], [], [], [], [], []
    rule_floor: dict[str, list[float]] = {r.id: [] for r in RULES}
    rule_detect: dict[str, list[float]] = {r.id: [] for r in RULES}
    for n in range(1, runs + 1):
        autovacuum(url)  # production's nightly full scan finds the table vacuumed since the last

        def measure_floor() -> None:
            seconds, per_rule = floor(url)
            floors.append(seconds)
            for rule_id, took in per_rule.items():
                rule_floor[rule_id].append(took)

        def measure_path() -> None:
            nonlocal path
            path = alert_path(url, full_context())
            works.append(path.laps["detect"] + path.laps["record_alerts"])
            extras.append(path.corrections + path.laps["notify"])
            for rule_id, took in path.run["seconds"].items():
                rule_detect[rule_id].append(took)

        sides: list[Callable[[], None]] = (
            [measure_floor, measure_path] if n % 2 else [measure_path, measure_floor]
        )
        for side in sides:
            side()
        floors2.append(floor(url, connections=2)[0])
        seconds, peak = check_process(url, gx_dir)
        checks.append(seconds)
        peaks.append(peak)
        print(
            f"run {n}: floor {floors[-1]:.2f} s (2 connections {floors2[-1]:.2f} s);"
            f" detect {path.laps['detect']:.2f} + record_alerts {path.laps['record_alerts']:.2f}"
            f" = {works[-1]:.2f} s ({works[-1] / floors[-1]:.2f}x); corrections"
            f" {path.corrections:.2f} s, notify {path.laps['notify']:.3f} s;"
            f" check process {seconds:.2f} s, peak {peak:.0f} MB"
        )
    floor_m, work_m = median(floors), median(works)
    ratio = median([w / f for w, f in zip(works, floors, strict=True)])
    print(
        f"\nFULL SCAN, {sum(path.run['counts'].values()):,} findings: alert-path work (detect +"
        f" record_alerts) {work_m:.2f} s vs floor {floor_m:.2f} s: median ratio {ratio:.2f}x,"
        f" ratio of medians {work_m / floor_m:.2f}x (target <= 1.2x: {verdict(ratio <= 1.2)})"
    )
    print(
        f"  floor on 2 connections {median(floors2):.2f} s (work = {work_m / median(floors2):.2f}x"
        f" of it); corrections + notify {median(extras):.2f} s more"
        f" ({len(path.blocked)} of {len(correctable_rules())} correctable rules stopped by the"
        " blast-radius limit)"
    )
    print(
        f"  check --full, fresh process (GX import, validation, Data Docs): {median(checks):.2f} s"
        f" = {median(checks) / floor_m:.2f}x the floor; peak RSS {max(peaks):.0f} MB"
        f" (target <= 300 MB: {verdict(max(peaks) <= 300)})"
    )
    print("  per rule, median s: floor (1 connection) / detect (2 connections, concurrent)")
    for rule in RULES:
        print(
            f"    {rule.id:26s} {median(rule_floor[rule.id]):6.3f} /"
            f" {median(rule_detect[rule.id]):6.3f}"
        )
    return int(path.run["run_id"])


def main() -> None:
    options = parser(__doc__)
    options.add_argument("--large-calls", type=int, default=4_000_000)
    options.set_defaults(runs=5)
    args = options.parse_args()
    anchor = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)

    with ExitStack() as stack:
        slack = SlackStandIn()
        stack.callback(slack.close)
        os.environ["AIRFLOW_CONN_SLACK_CONSISTENCY"] = json.dumps(
            {"conn_type": "slackwebhook", "password": slack.url}
        )
        gx_dir = stack.enter_context(tempfile.TemporaryDirectory(prefix="bg_bench_gx_"))
        started = time.perf_counter()
        small = stack.enter_context(scratch_database(args.server, calls=args.calls, anchor=anchor))
        large = stack.enter_context(
            scratch_database(args.server, calls=args.large_calls, anchor=anchor)
        )
        print(
            f"seeded {args.calls:,} and {args.large_calls:,} calls in"
            f" {time.perf_counter() - started:.0f} s\n"
        )

        clean_small = clean_calls(small, full_scan_rounds(small, args.runs, gx_dir))
        autovacuum(small)

        large_run = alert_path(large, full_context())
        print(
            f"\nfull scan of {args.large_calls:,} calls (once, for the window and its alerts):"
            f" detect {large_run.laps['detect']:.2f} s,"
            f" record_alerts {large_run.laps['record_alerts']:.2f} s,"
            f" notify {large_run.laps['notify']:.2f} s; {len(slack.received)} Slack messages so far"
        )
        clean_large = clean_calls(large, large_run.run["run_id"])
        autovacuum(large)

        sizes = {"small": (small, clean_small), "large": (large, clean_large)}
        works: dict[str, list[float]] = {"small": [], "large": []}
        steps: dict[str, dict[str, list[float]]] = {"small": {}, "large": {}}
        for n in range(1, args.runs + 1):
            order = ["small", "large"] if n % 2 else ["large", "small"]
            for size in order:
                url, calls = sizes[size]
                laps = incremental(url, calls)
                works[size].append(sum(laps.values()))
                for name, seconds in laps.items():
                    steps[size].setdefault(name, []).append(seconds)
            print(
                f"incremental run {n}: {args.calls:,} calls {works['small'][-1]:.3f} s,"
                f" {args.large_calls:,} calls {works['large'][-1]:.3f} s"
            )
        small_m, large_m = median(works["small"]), median(works["large"])
        scale = median([b / s for s, b in zip(works["small"], works["large"], strict=True)])
        print(
            f"\nINCREMENTAL over {CHANGED_CALLS:,} changed calls, nothing new: task work"
            f" {small_m:.3f} s at {args.calls:,} calls"
            f" (target <= 0.5 s: {verdict(small_m <= 0.5)});"
            f" {large_m:.3f} s at {args.large_calls:,} calls: median ratio {scale:.2f}x"
            f" (target <= 1.1x: {verdict(scale <= 1.1)})"
        )
        for name in steps["small"]:
            print(
                f"    {name:34s} {median(steps['small'][name]):.3f} s /"
                f" {median(steps['large'][name]):.3f} s"
            )

        print("\nfresh task process, median wall / CPU seconds:")
        for label, code in IMPORTS.items():
            samples = [import_seconds(code) for _ in range(args.runs)]
            print(
                f"  {label}: {median([s[0] for s in samples]):.2f} s /"
                f" {median([s[1] for s in samples]):.2f} s"
            )

        # A new full run: the incremental runs since have pruned the earlier ones' findings.
        full_run = alert_path(small, full_context()).run
        started = time.perf_counter()
        expectations.prewarm().join()
        print(f"\nGX import in this process: {time.perf_counter() - started:.2f} s")
        validations = []
        for _ in range(args.runs):
            with tempfile.TemporaryDirectory(prefix="bg_bench_gx_") as fresh:
                os.environ["BOOKING_GUARD_GX_DIR"] = fresh
                started = time.perf_counter()
                tasks.validate(full_run)
                validations.append(time.perf_counter() - started)
        print(
            f"validate branch (GX suite over the full run's findings + Data Docs, fresh GX dir):"
            f" {median(validations):.2f} s"
        )
        for path, seconds in dag_parse_seconds().items():
            print(f"DAG parse {Path(path).name}: {seconds:.3f} s (target < 0.5 s)")


if __name__ == "__main__":
    main()
