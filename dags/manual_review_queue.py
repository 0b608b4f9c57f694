"""Manual review queue: every hour, queue the open alerts people must decide, re-check pending
items with their rules (resolving those that became consistent), and escalate items pending longer
than BOOKING_GUARD_REVIEW_ESCALATE_HOURS (24) once to Slack.

    queue_new ── recheck_pending ── escalate_stale

People work the queue with ``booking-guard review list|show|resolve|dismiss|reopen``.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import dag, task

from booking_guard.airflow.notifier import slack_failure_notifier
from booking_guard.airflow.pools import database_pool

# The pool of the database-heavy tasks (booking_guard.airflow.pools).
DB_POOL = database_pool()

DEFAULT_ARGS = {
    "owner": "data-engineering",
    "retries": 2,
    "retry_delay": timedelta(minutes=1),
    "retry_exponential_backoff": True,
    "execution_timeout": timedelta(minutes=20),
    "on_failure_callback": slack_failure_notifier,
}


@dag(
    dag_id="manual_review_queue",
    schedule="0 * * * *",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=timedelta(minutes=50),
    default_args=DEFAULT_ARGS,
    on_failure_callback=slack_failure_notifier,
    tags=["booking-guard", "data-quality"],
    doc_md=__doc__,
)
def manual_review_queue():
    @task(pool=DB_POOL)
    def queue_new() -> int:
        from booking_guard.airflow import review_tasks

        return review_tasks.queue_new()

    @task(pool=DB_POOL)
    def recheck_pending() -> dict:
        from booking_guard.airflow import review_tasks

        return review_tasks.recheck_pending()

    @task
    def escalate_stale() -> int:
        from booking_guard.airflow import review_tasks

        return review_tasks.escalate_stale()

    queue_new() >> recheck_pending() >> escalate_stale()


manual_review_queue()
