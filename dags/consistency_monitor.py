"""Consistency monitor: every 5 minutes, the detection rules over the rows changed in the data
interval (with an overlap, and back to the last successful run), then alerts and notifications.
The run whose interval holds BOOKING_GUARD_FULL_SCAN_AT (01:30 UTC) scans everything, which also
resolves alerts no longer found; trigger with ``{"full": true}`` for a full scan at any time. A
manual or API trigger (no data interval) covers the changes since the last successful run.

    detect ─┬─ record_alerts ── correct_<rule> … ── notify   the alert path: never imports GX
            └─ validate                        the GX suite and Data Docs (skipped if unchanged)

``record_alerts`` updates the asset ``booking_guard_findings``, which other DAGs can be
scheduled on.

One correction task per auto-correctable rule of the registry, each acting on this run's findings;
one stopped by the blast-radius limit fails (Slack callback) and ``notify`` still runs, so its
critical alert goes out.
"""

from __future__ import annotations

import os
from datetime import timedelta

import pendulum
from airflow.sdk import (
    Asset,
    CronDataIntervalTimetable,
    Param,
    TriggerRule,
    dag,
    get_current_context,
    task,
)

from booking_guard.airflow.notifier import slack_failure_notifier
from booking_guard.airflow.pools import database_pool
from booking_guard.rules import RULES

# The pool of the database-heavy tasks (booking_guard.airflow.pools).
DB_POOL = database_pool()

# The findings and alerts of each run: the report and review DAGs can be scheduled on it.
FINDINGS = Asset("booking_guard_findings")

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
    @task(pool=DB_POOL)
    def detect() -> dict:
        from booking_guard.airflow import tasks

        return tasks.detect(get_current_context())

    @task(outlets=[FINDINGS], pool=DB_POOL)
    def record_alerts(run: dict) -> dict:
        from booking_guard.airflow import tasks

        return tasks.record_alerts(run)

    @task(pool=DB_POOL)
    def validate(run: dict) -> dict:
        from booking_guard.airflow import tasks

        return tasks.validate(run)

    @task(pool=DB_POOL)
    def correct(run: dict, rule_id: str) -> dict:
        from booking_guard.airflow import tasks

        return tasks.correct(run, rule_id)

    @task(trigger_rule=TriggerRule.ALL_DONE)
    def notify() -> dict:
        from booking_guard.airflow import tasks

        return tasks.notify()

    run = detect()
    corrections = [
        correct.override(task_id=f"correct_{rule.id}")(run, rule.id)
        for rule in RULES
        if rule.auto_correctable
    ]
    record_alerts(run) >> corrections >> notify()
    validate(run)


consistency_monitor()
