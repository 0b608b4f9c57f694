"""Auto-corrections and the review re-check on 1,000,000 seeded calls, against baselines measured
in the same run.

- corrections: the five correctable rules over 10,000 planted findings of one detection run
  (``corrections.correct`` per rule: batches, row locks, re-checks, audit alerts, review
  queueing), against ``correct_baseline.sql`` — the same fixes as hand-written set-wise UPDATEs
  with their audit inserts, in one transaction. Each side works on its own copy of the detected
  database (CREATE DATABASE … TEMPLATE), so both fix the same rows.
- review: ``review.recheck`` over the pending items (about 10,000) against the rule queries
  scoped to those items' entities (``review_scope.sql``), run once each (the least a re-check
  must do).

Runs alternate the two sides; medians and ratios are reported.

    .venv/bin/python bench/correct.py [--calls 1000000] [--runs 3] [--review-only]
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql
from scratch import parser, scratch_database

from booking_guard import alerts, corrections, detection, review
from booking_guard.rules import ScopeKind

HERE = Path(__file__).resolve().parent
PLANTED = 10_000
# Share of calls with a defect so that the four queued rules plant about 10,000 review items.
DEFECT_RATE = 0.0667


@contextmanager
def copy_of(url: str) -> Iterator[str]:
    """A throw-away copy of the detected database, its caches warmed like the original's."""
    parts = urlsplit(url)
    name = f"{parts.path.lstrip('/')}_{uuid.uuid4().hex[:6]}"
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {} STRATEGY FILE_COPY").format(
                sql.Identifier(name), sql.Identifier(parts.path.lstrip("/"))
            )
        )
    copy = urlunsplit(parts._replace(path=f"/{name}"))
    try:
        with psycopg.connect(copy, autocommit=True) as conn:
            conn.execute("SELECT count(*) FROM calls")
            conn.execute("SELECT count(*) FROM appointments")
            conn.execute("ANALYZE")
        yield copy
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


def prepare(url: str, calls: int) -> int:
    """Seed, detect, keep 10,000 correctable findings (every rule in its share), record alerts."""
    command = [sys.executable, "-m", "booking_guard", "--database-url", url, "seed"]
    command += ["--calls", str(calls), "--defect-rate", str(DEFECT_RATE)]
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    run = detection.detect(url, full=True)
    correctable = [r.id for r in corrections.correctable_rules()]
    with psycopg.connect(url, autocommit=True) as conn:
        total = conn.execute(
            "SELECT count(*) FROM bg_rule_findings WHERE run_id = %s AND rule_id = ANY(%s)",
            (run.run_id, correctable),
        ).fetchone()[0]
        conn.execute(
            "DELETE FROM bg_rule_findings f USING (SELECT ctid, row_number() OVER"
            " (ORDER BY rule_id, entity_id) AS n FROM bg_rule_findings"
            " WHERE run_id = %s AND rule_id = ANY(%s)) k"
            " WHERE f.ctid = k.ctid AND k.n * %s %% %s >= %s",
            (run.run_id, correctable, PLANTED, total, PLANTED),
        )
        kept = conn.execute(
            "SELECT rule_id, count(*) FROM bg_rule_findings WHERE run_id = %s"
            " AND rule_id = ANY(%s) GROUP BY 1 ORDER BY 1",
            (run.run_id, correctable),
        ).fetchall()
    alerts.record(url, run)
    detection.finish_run(url, run, succeeded=True)
    review.enqueue(url)
    print(f"planted correctable findings kept: {sum(n for _, n in kept):,} {dict(kept)}")
    return run.run_id


def time_corrections(url: str, run_id: int) -> tuple[float, int]:
    started = time.perf_counter()
    fixed = sum(
        corrections.correct(url, run_id, rule.id, max_rows=PLANTED).corrected
        for rule in corrections.correctable_rules()
    )
    return time.perf_counter() - started, fixed


def time_baseline(url: str, run_id: int) -> tuple[float, int]:
    script = (HERE / "correct_baseline.sql").read_text(encoding="utf-8")
    with psycopg.connect(url) as conn:
        started = time.perf_counter()
        psycopg.ClientCursor(conn).execute(script, {"run_id": run_id})
        conn.commit()
        seconds = time.perf_counter() - started
        fixed = conn.execute(
            "SELECT count(*) FROM data_consistency_alerts"
            " WHERE auto_corrected AND metadata ? 'before' AND metadata->>'source' IS NULL"
        ).fetchone()[0]
    return seconds, fixed


def time_scoped_rules(url: str) -> float:
    """The floor of a re-check: each queued reason's rule once, scoped to the items' entities."""
    with psycopg.connect(url) as conn:
        ids = [r[0] for r in conn.execute("SELECT id FROM manual_review_queue")]
        reasons = {r[0] for r in conn.execute("SELECT DISTINCT reason FROM manual_review_queue")}
        scope = (HERE / "review_scope.sql").read_text(encoding="utf-8")
        started = time.perf_counter()
        psycopg.ClientCursor(conn).execute(scope, {"ids": ids})
        for reason in reasons:
            conn.execute(
                sql.SQL("SELECT count(*) FROM ({}) f").format(
                    review.RECHECKS[reason].query(ScopeKind.ENTITY)
                )
            ).fetchone()
        seconds = time.perf_counter() - started
        conn.rollback()
    return seconds


def time_recheck(url: str) -> tuple[float, int]:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("UPDATE manual_review_queue SET checked_at = NULL")
        conn.execute("VACUUM ANALYZE manual_review_queue")
    started = time.perf_counter()
    report = review.recheck(url)
    return time.perf_counter() - started, len(report.taken)


def main() -> None:
    options = parser(__doc__)
    options.add_argument("--review-only", action="store_true", help="skip the corrections")
    args = options.parse_args()
    with scratch_database(args.server) as url:
        run_id = prepare(url, args.calls)
        ours: list[float] = []
        baseline: list[float] = []
        for run in range(0 if args.review_only else args.runs):
            sides = [("ours", time_corrections, ours), ("baseline", time_baseline, baseline)]
            for name, measure, results in sides if run % 2 == 0 else sides[::-1]:
                with copy_of(url) as copy:
                    seconds, fixed = measure(copy, run_id)
                results.append(seconds)
                print(
                    f"run {run + 1} corrections {name:<8} {seconds * 1000:8.0f} ms, {fixed:,} fixed"
                )
        scoped, recheck = [], []
        with copy_of(url) as copy:
            for run in range(args.runs):
                if run % 2:
                    recheck.append(time_recheck(copy)[0])
                    scoped.append(time_scoped_rules(copy))
                else:
                    scoped.append(time_scoped_rules(copy))
                    seconds, taken = time_recheck(copy)
                    recheck.append(seconds)
                    print(f"run {run + 1} review re-check of {taken:,} items")
                print(
                    f"run {run + 1} re-check {recheck[-1] * 1000:.0f} ms, scoped rules"
                    f" {scoped[-1] * 1000:.0f} ms"
                )
        if ours:
            o, b = statistics.median(ours), statistics.median(baseline)
            print(
                f"\nmedian corrections {o * 1000:.0f} ms vs hand-written {b * 1000:.0f} ms"
                f" = {o / b:.2f}x (target <= 1.5x)"
            )
        r, s = statistics.median(recheck), statistics.median(scoped)
        print(
            f"median review re-check {r * 1000:.0f} ms vs scoped rule queries {s * 1000:.0f} ms"
            f" = {r / s:.2f}x (target < 2x)"
        )


if __name__ == "__main__":
    main()
