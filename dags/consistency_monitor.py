"""Consistency monitor: every 5 minutes, the detection rules over the rows changed in the data
interval (with an overlap, and back to the last successful run), then alerts and notifications.
The run whose interval holds BOOKING_GUARD_FULL_SCAN_AT (01:30 UTC) scans everything, which also
resolves alerts no longer found; trigger with ``{"full": true}`` for a full scan at any time. A
manual or API trigger (no data interval) covers the changes since the last successful run.

    detect (rules, then the GX suites and Data Docs) ── record_alerts ── notify

Auto-corrections (a task per correctable rule) come between ``record_alerts`` and ``notify``.
"""

from __future__ import annotations

import os
from datetime import timedelta

import pendulum
from airflow.sdk import CronDataIntervalTimetable, Param, dag, get_current_context, task

from booking_guard.airflow.notifier import slack_failure_notifier

DEFAULT_ARGS = {
    "owner": "data-engineering",
    "retries": 2,
    "retry_delay": timedelta(seconds=20),
    "retry_exponential_backoff": True,
    "max_retry_delay": timedelta(minutes=2),
    "execution_timeout": timedelta(minutes=4),
    "on_failure_callback": slack_failure_notifier,
}


@dag(
    dag_id="consistency_monitor",
    # An interval timetable: each run covers the five minutes before it (data_interval_start).
    # BOOKING_GUARD_MONITOR_SCHEDULE (a cron expression) changes it, e.g. for an end-to-end test.
    schedule=CronDataIntervalTimetable(
        os.environ.get("BOOKING_GUARD_MONITOR_SCHEDULE") or "*/5 * * * *", timezone="UTC"
    ),
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=timedelta(minutes=10),
    default_args=DEFAULT_ARGS,
    on_failure_callback=slack_failure_notifier,
    params={"full": Param(False, type="boolean", description="scan everything, resolve alerts")},
    tags=["booking-guard", "data-quality"],
    doc_md=__doc__,
)
def consistency_monitor():
    @task
    def detect() -> dict:
        from booking_guard.airflow import tasks

        return tasks.detect(get_current_context())

    @task
    def record_alerts(run: dict) -> dict:
        from booking_guard.airflow import tasks

        return tasks.record_alerts(run)

    @task
    def notify() -> dict:
        from booking_guard.airflow import tasks

        return tasks.notify()

    record_alerts(detect()) >> notify()


consistency_monitor()
