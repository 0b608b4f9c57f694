"""Peak RSS of validating one run with very many findings of one rule (issue 14, item 6).

    .venv/bin/python bench/findings_memory.py [--findings 2000000]

Writes N synthetic findings of one rule into a run of an empty migrated database (in SQL), then
validates that run with the Great Expectations suite and builds Data Docs in a fresh process,
whose peak RSS is read from the kernel when it ends (RUSAGE_CHILDREN, so the big run goes
first). Target: ≤ 300 MB whatever the number of findings.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile

from scratch import scratch_database

from booking_guard import detection
from booking_guard.db import connect

VALIDATE = (
    "import sys; from booking_guard import expectations; from booking_guard.airflow.xcom import"
    " load_run; import json; run = load_run(json.loads(sys.argv[1]));"
    " s = expectations.validate(sys.argv[2], run); print(s.success, [r.findings for r in s.results"
    " if r.findings][:1])"
)


def validate_peak_mb(url: str, run: detection.DetectionRun) -> tuple[float, str]:
    import json

    from booking_guard.airflow.xcom import dump_run

    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    with tempfile.TemporaryDirectory() as gx:
        done = subprocess.run(
            [sys.executable, "-c", VALIDATE, json.dumps(dump_run(run)), url],
            env={**os.environ, "BOOKING_GUARD_GX_DIR": gx},
            capture_output=True,
            text=True,
            check=True,
        )
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(peak, before) / 1024, done.stdout.strip()


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--findings", type=int, default=2_000_000)
    options.add_argument("--server", default="postgresql://postgres@127.0.0.1:5432")
    args = options.parse_args()
    with scratch_database(args.server) as url:
        # The big run first: the children's peak RSS only ever grows, so it is measured alone.
        run = detection.open_run(url, "full", None)
        with connect(url) as conn:
            conn.execute(
                "INSERT INTO bg_rule_findings (run_id, rule_id, entity_type, entity_id,"
                " company_id, detail) SELECT %s, 'missing_direction', 'call', g, 1 + g %% 5,"
                " '{}'::jsonb FROM generate_series(1, %s) g",
                (run.run_id, args.findings),
            )
        run.counts = {"missing_direction": args.findings}
        peak, out = validate_peak_mb(url, run)
        empty = detection.open_run(url, "full", None)
        empty.counts = {"missing_direction": 0}
        baseline, _ = validate_peak_mb(url, empty)  # at least the big run's peak, see above
        print(f"validation with no finding: peak RSS <= {baseline:.0f} MB")
        print(
            f"validation with {args.findings:,} findings of one rule: peak RSS {peak:.0f} MB"
            f" (target <= 300 MB); result {out}"
        )


if __name__ == "__main__":
    main()
