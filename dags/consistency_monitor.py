"""Consistency monitor: every 5 minutes, the detection rules over the rows changed in the data
interval (with an overlap, and back to the last successful run), then alerts and notifications.
The run whose interval holds BOOKING_GUARD_FULL_SCAN_AT (01:30 UTC) scans everything, which also
resolves alerts no longer found; trigger with ``{"full": true}`` for a full scan at any time.

    detect (rules, then the GX suites and Data Docs) ── record_alerts ── correct_<rule> … ── notify

One correction task per auto-correctable rule of the registry, each acting on this run's findings;
one stopped by the blast-radius limit fails (Slack callback) and ``notify`` still runs, so its
critical alert goes out.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import Param, TriggerRule, dag, get_current_context, task
from airflow.timetables.interval import CronDataIntervalTimetable

from booking_guard.callbacks import slack_failure_callback
from booking_guard.rules import RULES

DEFAULT_ARGS = {
    "owner": "data-engineering",
    "retries": 2,
    "retry_delay": timedelta(seconds=20),
    "retry_exponential_backoff": True,
    "max_retry_delay": timedelta(minutes=2),
    "execution_timeout": timedelta(minutes=4),
    "on_failure_callback": slack_failure_callback,
}


@dag(
    dag_id="consistency_monitor",
    # An interval timetable: each run covers the five minutes before it (data_interval_start).
    schedule=CronDataIntervalTimetable("*/5 * * * *", timezone="UTC"),
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=timedelta(minutes=10),
    default_args=DEFAULT_ARGS,
    on_failure_callback=slack_failure_callback,
    params={"full": Param(False, type="boolean", description="scan everything, resolve alerts")},
    tags=["booking-guard", "data-quality"],
    doc_md=__doc__,
)
def consistency_monitor():
    @task
    def detect() -> dict:
        from booking_guard.monitor import step_detect_and_validate
        from booking_guard.settings import Settings

        context = get_current_context()
        interval = (context["data_interval_start"], context["data_interval_end"])
        full = bool(context["params"]["full"])
        return step_detect_and_validate(Settings.from_airflow(), full=full, interval=interval)

    @task
    def record_alerts(run: dict) -> dict:
        from booking_guard.monitor import step_record
        from booking_guard.settings import Settings

        return step_record(Settings.from_airflow(), run)

    @task
    def correct(run: dict, rule_id: str) -> dict:
        from airflow.sdk.exceptions import AirflowFailException

        from booking_guard.corrections import CorrectionBlocked, step_correct
        from booking_guard.settings import Settings

        try:
            return step_correct(Settings.from_airflow(), run["run_id"], rule_id)
        except CorrectionBlocked as exc:  # a retry would be blocked again
            raise AirflowFailException(str(exc)) from None

    @task(trigger_rule=TriggerRule.ALL_DONE)
    def notify() -> dict:
        from booking_guard.monitor import step_notify
        from booking_guard.settings import Settings

        return step_notify(Settings.from_airflow())

    run = detect()
    corrections = [
        correct.override(task_id=f"correct_{rule.id}")(run, rule.id)
        for rule in RULES
        if rule.auto_correctable
    ]
    record_alerts(run) >> corrections >> notify()


consistency_monitor()
