"""Daily consistency report: at 02:00 in BOOKING_GUARD_TIMEZONE (default UTC), the figures of the
previous local day (a half-open interval, 23 or 25 hours on daylight-saving days) go into the
report history, the JSON/Markdown/HTML files are written, and a short summary goes to Slack.
Trigger with ``{"date": "YYYY-MM-DD"}`` to (re)build another day; a re-run replaces the day.

    compute_figures ── publish ── notify

The pages: Airflow UI → Browse → Daily report (the booking-guard plugin).
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import CronTriggerTimetable, Param, dag, get_current_context, task

from booking_guard.airflow.notifier import slack_failure_notifier
from booking_guard.airflow.pools import database_pool
from booking_guard.airflow.report_tasks import schedule_timezone

# The pool of the database-heavy tasks (booking_guard.airflow.pools).
DB_POOL = database_pool()

TIMEZONE = schedule_timezone()

DEFAULT_ARGS = {
    "owner": "data-engineering",
    "retries": 2,
    "retry_delay": timedelta(minutes=1),
    "retry_exponential_backoff": True,
    "execution_timeout": timedelta(minutes=15),
    "on_failure_callback": slack_failure_notifier,
}


@dag(
    dag_id="consistency_daily_report",
    schedule=CronTriggerTimetable("0 2 * * *", timezone=TIMEZONE),
    start_date=pendulum.datetime(2026, 1, 1, tz=TIMEZONE),
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=timedelta(minutes=45),
    default_args=DEFAULT_ARGS,
    on_failure_callback=slack_failure_notifier,
    params={
        "date": Param(
            None,
            type=["null", "string"],
            format="date",
            description="the day to report (YYYY-MM-DD); empty: the previous local day",
        )
    },
    tags=["booking-guard", "report"],
    doc_md=__doc__,
)
def consistency_daily_report():
    @task(pool=DB_POOL)
    def compute_figures() -> str:
        from booking_guard.airflow import report_tasks

        return report_tasks.compute(get_current_context())

    @task
    def publish(day: str) -> dict:
        from booking_guard.airflow import report_tasks

        return report_tasks.publish(day)

    @task
    def notify(day: str) -> dict:
        from booking_guard.airflow import report_tasks

        return report_tasks.notify(day)

    day = compute_figures()
    publish(day) >> notify(day)


consistency_daily_report()
