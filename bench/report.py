"""Daily report cost on 1,000,000 seeded calls with 30 days of history, against a baseline.

- setup: seed (30 days), one full check (alerts), the alerts moved to their calls' days (a third
  resolved a day later), trigger audit rows for 2 % of the calls, review-queue items for 0.5 %
  (half resolved, some escalated), circuit transitions; then the 29 days before the measured
  day are reported once, so the measured run reads and renders 30 days of history;
- report: ``booking-guard report --date D`` as a fresh process (figures computed and stored,
  history read, JSON/Markdown/HTML written): wall time and peak RSS (``ru_maxrss`` of the child);
- SQL: the report's figure SQL (``report.compute``: five group queries into the history, the
  derived share, the read-back) against the baseline, the same figures by one hand-written
  query per figure (per tenant and over all tenants), alternating, in the same run.

    .venv/bin/python bench/report.py [--calls 1000000] [--runs 5]
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta

import psycopg
from scratch import parser, scratch_database

from booking_guard import report

# One query per figure, written by hand: what each number costs on its own.
BASELINE = {
    "calls": """
        SELECT company_id, count(*) FROM calls
         WHERE created_at >= %(start)s AND created_at < %(end)s
           AND (deleted_at IS NULL OR deleted_at >= %(end)s)
         GROUP BY ROLLUP (company_id)""",
    "appointments": """
        SELECT company_id, count(*) FROM appointments
         WHERE created_at >= %(start)s AND created_at < %(end)s
           AND (deleted_at IS NULL OR deleted_at >= %(end)s)
         GROUP BY ROLLUP (company_id)""",
    "inconsistent_calls and rate": """
        WITH live AS (
            SELECT entity_type, entity_id FROM data_consistency_alerts
             WHERE fingerprint IS NOT NULL AND severity IN ('critical', 'warning')
               AND detected_at < %(end)s AND (resolved_at IS NULL OR resolved_at > %(start)s)
        )
        SELECT c.company_id, count(*),
               round(100.0 * count(*) FILTER (WHERE NOT (
                   EXISTS (SELECT 1 FROM live WHERE entity_type = 'call' AND entity_id = c.id)
                   OR EXISTS (SELECT 1 FROM appointments ap JOIN live
                                ON entity_type = 'appointment' AND entity_id = ap.id
                               WHERE ap.call_id = c.id))) / nullif(count(*), 0), 2)
          FROM calls c
         WHERE c.created_at >= %(start)s AND c.created_at < %(end)s
           AND (c.deleted_at IS NULL OR c.deleted_at >= %(end)s)
         GROUP BY ROLLUP (c.company_id)""",
    "alerts_new": """
        SELECT company_id, alert_type, count(*) FROM data_consistency_alerts
         WHERE fingerprint IS NOT NULL AND detected_at >= %(start)s AND detected_at < %(end)s
         GROUP BY GROUPING SETS ((company_id), (), (company_id, alert_type), (alert_type))""",
    "alerts_resolved": """
        SELECT company_id, alert_type, count(*) FROM data_consistency_alerts
         WHERE fingerprint IS NOT NULL AND resolved_at >= %(start)s AND resolved_at < %(end)s
         GROUP BY GROUPING SETS ((company_id), (), (company_id, alert_type), (alert_type))""",
    "open_alerts": """
        SELECT company_id, alert_type, severity, count(*) FROM data_consistency_alerts
         WHERE fingerprint IS NOT NULL AND detected_at < %(end)s
           AND (resolved_at IS NULL OR resolved_at >= %(end)s)
         GROUP BY GROUPING SETS ((company_id), (), (company_id, alert_type, severity),
                                 (alert_type, severity))""",
    "auto_corrected": """
        SELECT company_id, alert_type, count(*),
               count(*) FILTER (WHERE metadata ->> 'source' = 'trigger')
          FROM data_consistency_alerts
         WHERE auto_corrected AND fingerprint IS NULL
           AND corrected_at >= %(start)s AND corrected_at < %(end)s
         GROUP BY GROUPING SETS ((company_id), (), (company_id, alert_type), (alert_type))""",
    "review_queued": """
        SELECT company_id, count(*) FROM manual_review_queue
         WHERE created_at >= %(start)s AND created_at < %(end)s GROUP BY ROLLUP (company_id)""",
    "review_resolved": """
        SELECT company_id, count(*) FROM manual_review_queue
         WHERE resolved_at >= %(start)s AND resolved_at < %(end)s GROUP BY ROLLUP (company_id)""",
    "review_escalated": """
        SELECT company_id, count(*) FROM manual_review_queue
         WHERE escalated_at >= %(start)s AND escalated_at < %(end)s GROUP BY ROLLUP (company_id)""",
    "review_open and oldest": """
        SELECT company_id, count(*), %(end)s - min(created_at) FROM manual_review_queue
         WHERE created_at < %(end)s AND (resolved_at IS NULL OR resolved_at >= %(end)s)
         GROUP BY ROLLUP (company_id)""",
    "breaker transitions": """
        SELECT s.circuit_key, count(*) FILTER (WHERE al.detected_at >= %(start)s),
               count(*) FILTER (WHERE al.resolved_at < %(end)s)
          FROM data_consistency_alerts al JOIN circuit_breaker_states s ON s.id = al.entity_id
         WHERE al.alert_type = 'circuit_open' AND al.detected_at < %(end)s
           AND (al.resolved_at IS NULL OR al.resolved_at >= %(start)s)
         GROUP BY ROLLUP (s.circuit_key)""",
}

SHAPE = [
    # alerts on the days of their entities; a third resolved a day later
    """UPDATE data_consistency_alerts al
          SET detected_at = c.created_at + interval '5 minutes',
              last_seen_at = c.created_at + interval '5 minutes',
              resolved_at = CASE WHEN al.id % 3 = 0 THEN c.created_at + interval '1 day' END
         FROM calls c WHERE al.entity_type = 'call' AND c.id = al.entity_id""",
    """UPDATE data_consistency_alerts al
          SET detected_at = a.created_at + interval '5 minutes',
              last_seen_at = a.created_at + interval '5 minutes'
         FROM appointments a WHERE al.entity_type = 'appointment' AND a.id = al.entity_id""",
    # trigger corrections for 2 % of the calls
    """INSERT INTO data_consistency_alerts (company_id, alert_type, severity, entity_type,
              entity_id, description, metadata, detected_at, last_seen_at, resolved_at,
              auto_corrected, corrected_at)
       SELECT company_id, 'direction_defaulted', 'info', 'call', id, 'bench',
              '{"source": "trigger"}', created_at, created_at, created_at, true, created_at
         FROM calls WHERE id % 50 = 0""",
    # review-queue items for 0.5 % of the calls: half resolved two hours later, a tenth escalated
    """INSERT INTO manual_review_queue (company_id, call_id, reason, status, created_at,
              resolved_at, escalated_at)
       SELECT company_id, id, 'missing_appointment',
              CASE WHEN id % 400 = 0 THEN 'resolved' ELSE 'pending' END,
              created_at + interval '10 minutes',
              CASE WHEN id % 400 = 0 THEN created_at + interval '2 hours' END,
              CASE WHEN id % 2000 = 200 THEN created_at + interval '1 day' END
         FROM calls WHERE id % 200 = 0""",
    # twenty circuits, each opening and closing once a day
    """INSERT INTO circuit_breaker_states (circuit_key, state, opened_at, closed_at)
       SELECT 'service:' || n, 'closed', now() - interval '1 hour', now() - interval '50 minutes'
         FROM generate_series(1, 20) n""",
    """INSERT INTO data_consistency_alerts (alert_type, severity, entity_type, entity_id,
              fingerprint, description, detected_at, last_seen_at, resolved_at)
       SELECT 'circuit_open', 'critical', 'circuit', s.id, 'circuit_open:circuit:' || s.circuit_key,
              'bench',
              d + interval '3 hours', d + interval '3 hours', d + interval '3 hours 5 minutes'
         FROM circuit_breaker_states s,
              generate_series(now() - interval '30 days', now(), interval '1 day') d""",
    "ANALYZE",
]


def baseline(url: str, params: dict) -> float:
    with psycopg.connect(url) as conn:
        started = time.perf_counter()
        for query in BASELINE.values():
            conn.execute(query, params).fetchall()
        return time.perf_counter() - started


def figures(url: str, day: date) -> float:
    started = time.perf_counter()
    report.compute(url, day, "UTC")
    return time.perf_counter() - started


def cli_report(url: str, day: date, out: str) -> tuple[float, float]:
    """One ``booking-guard report`` process: wall seconds and peak RSS in MB."""
    command = [sys.executable, "-m", "booking_guard", "--database-url", url, "report"]
    command += ["--date", day.isoformat(), "--out", out]
    started = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"report failed: {child.stderr.read().decode() if child.stderr else ''}")
    return seconds, usage.ru_maxrss / 1024


def main() -> None:
    args = parser(__doc__).parse_args()
    anchor = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    day = anchor.date() - timedelta(days=1)
    with scratch_database(args.server, calls=args.calls, anchor=anchor) as url:
        check = [sys.executable, "-m", "booking_guard", "--database-url", url, "check"]
        subprocess.run([*check, "--full", "--no-notify", "--no-docs"], stdout=subprocess.DEVNULL)
        with psycopg.connect(url, autocommit=True) as conn:
            for statement in SHAPE:
                conn.execute(statement)
            alerts = conn.execute("SELECT count(*) FROM data_consistency_alerts").fetchone()
        started = time.perf_counter()
        for back in range(29, 0, -1):
            report.compute(url, day - timedelta(days=back), "UTC")
        print(
            f"{args.calls:,} calls, {alerts[0] if alerts else 0:,} alert rows;"
            f" 29 days of history computed in {time.perf_counter() - started:.1f} s"
        )
        p = report.period(day, "UTC")
        params = {"start": p.start, "end": p.end}
        ours, theirs, walls, peaks = [], [], [], []
        with tempfile.TemporaryDirectory() as out:
            for run in range(1, args.runs + 1):
                theirs.append(baseline(url, params))
                ours.append(figures(url, day))
                seconds, peak = cli_report(url, day, out)
                walls.append(seconds)
                peaks.append(peak)
                print(
                    f"run {run}: baseline {theirs[-1]:.3f} s, report SQL {ours[-1]:.3f} s"
                    f" ({ours[-1] / theirs[-1]:.2f}x); report process {seconds:.2f} s,"
                    f" peak {peak:.0f} MB"
                )
        stored = report.load(url, day)
        ours_m, theirs_m = statistics.median(ours), statistics.median(theirs)
        print(
            f"\nday {day}: {stored.value('calls') if stored else 0:,} calls,"
            f" {stored.value('alerts_new') if stored else 0:,} new alerts,"
            f" {len(stored.trends.get('calls', [])) if stored else 0} days of trend"
        )
        print(
            f"median report SQL {ours_m:.3f} s vs baseline ({len(BASELINE)} hand-written"
            f" queries) {theirs_m:.3f} s = {ours_m / theirs_m:.2f}x (target <= 1.3x)"
        )
        print(
            f"median report process {statistics.median(walls):.2f} s (target < 10 s),"
            f" peak RSS {max(peaks):.0f} MB (target < 300 MB)"
        )


if __name__ == "__main__":
    main()
