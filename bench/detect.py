"""Detection cost on 1,000,000 seeded calls, against the floor measured in the same run.

- floor: each rule's SQL executed once by psycopg, writing its violating keys into a temp table;
- full check: ``booking-guard check --full --no-notify`` (rules, GX validation and Data Docs,
  alerts written), as a fresh process, so the Great Expectations import is paid as in production;
  its peak RSS is read from the kernel (``ru_maxrss`` of the child);
- incremental check: the same over a 5-minute window after 0.1 % of the rows changed;
- DAG parse time: each file of ``dags/`` through Airflow's DagBag.

Runs alternate floor and check to share the machine's noise; medians and ratios are reported.

    .venv/bin/python bench/detect.py [--calls 1000000] [--runs 3]
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
from psycopg import sql
from scratch import parser, scratch_database

from booking_guard.rules import RULES, ScopeKind

REPO = Path(__file__).resolve().parents[1]


def floor(url: str) -> float:
    """Each rule's query once, keys into a temp table: the least any engine must do."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "CREATE TEMP TABLE floor_keys (rule_id text, entity_type text, entity_id bigint)"
        )
        started = time.perf_counter()
        for rule in RULES:
            query = sql.SQL(
                "INSERT INTO floor_keys SELECT %(rule_id)s, entity_type, entity_id FROM ({}) f"
            ).format(rule.query(ScopeKind.FULL))
            conn.execute(query, {"rule_id": rule.id})
        return time.perf_counter() - started


def check(url: str, *args: str) -> tuple[float, float, dict]:
    """One `booking-guard check` process: wall seconds, peak RSS in MB, its JSON report."""
    env = {**os.environ, "BOOKING_GUARD_GX_DIR": str(REPO / "var" / "bench-gx")}
    command = [sys.executable, "-m", "booking_guard", "--database-url", url, "check"]
    command += ["--no-notify", "--json", *args]
    started = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        child = subprocess.Popen(command, stdout=out, stderr=err, env=env, text=True)
        _, status, usage = os.wait4(child.pid, 0)  # this child's own peak RSS
        child.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        if child.returncode == 3:
            raise SystemExit(f"check failed: {err.read().strip()}")
        return seconds, usage.ru_maxrss / 1024, json.loads(out.read())


def touch(url: str, share: float) -> int:
    """Change a share of the calls (and their appointments) now, planting a few defects."""
    with psycopg.connect(url, autocommit=True) as conn:
        calls = conn.execute(
            "UPDATE calls SET updated_at = now(),"
            " direction = CASE WHEN id %% 10 = 0 THEN NULL ELSE direction END"
            " WHERE id %% %s = 0",
            (round(1 / share),),
        ).rowcount
        conn.execute(
            "UPDATE appointments SET updated_at = now() WHERE id %% %s = 0", (round(1 / share),)
        )
    return calls


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
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    args = parser(__doc__).parse_args()

    anchor = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    with scratch_database(args.server, calls=args.calls, anchor=anchor) as url:
        first, first_peak, report = check(url, "--full")
        print(
            f"first full check (opens every alert): {first:.2f} s, peak {first_peak:.0f} MB,"
            f" {report['alerts']['opened']:,} alerts opened"
        )
        floors, fulls, peaks = [], [], [first_peak]
        for run in range(1, args.runs + 1):
            floors.append(floor(url))
            seconds, peak, report = check(url, "--full")
            fulls.append(seconds)
            peaks.append(peak)
            print(
                f"run {run}: floor {floors[-1]:.2f} s, full check {seconds:.2f} s"
                f" ({seconds / floors[-1]:.2f}x), peak {peak:.0f} MB; stages {report['seconds']}"
            )
        rule_seconds = sum(r["seconds"] for r in report["rules"])

        since = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
        changed = touch(url, 0.001)
        incrementals = []
        for _ in range(args.runs):
            seconds, peak, inc = check(url, "--since", since)
            print(f"incremental check {seconds:.2f} s; stages {inc['seconds']}")
            incrementals.append(seconds)
            peaks.append(peak)
        found = sum(r["count"] for r in inc["rules"])

        floor_m, full_m, inc_m = (statistics.median(x) for x in (floors, fulls, incrementals))
        print(
            f"\nmedian floor {floor_m:.2f} s; full check {full_m:.2f} s = {full_m / floor_m:.2f}x"
            f" the floor (target <= 1.2x); of which rule SQL {rule_seconds:.2f} s in the last run"
        )
        print(
            f"incremental over {changed:,} changed calls ({found:,} findings):"
            f" {inc_m:.2f} s = {100 * inc_m / full_m:.1f} % of the full check (target <= 5 %)"
        )
        print(f"peak RSS of a check process: {max(peaks):.0f} MB (target <= 300 MB)")
        for path, seconds in dag_parse_seconds().items():
            print(f"DAG parse {Path(path).name}: {seconds:.3f} s (target < 0.5 s)")


if __name__ == "__main__":
    main()
