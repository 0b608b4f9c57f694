"""Deploy booking-guard's prevention migrations (tables, triggers) to the monitored database.

Manual only. Params: ``target`` (a revision, ``head`` or ``base``; lower than the current revision
means down) and ``pretend`` (log the SQL that would run, change nothing). A deploy is one
transaction under an advisory lock; deploying twice is a no-op. Same as ``booking-guard migrate``.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import Param, dag, get_current_context, task

from booking_guard.airflow.notifier import slack_failure_notifier


@dag(
    dag_id="deploy_consistency_migrations",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args={"owner": "data-engineering", "retries": 0},
    on_failure_callback=slack_failure_notifier,
    params={
        "target": Param("head", type="string", description="revision, head or base"),
        "pretend": Param(False, type="boolean", description="print the SQL, change nothing"),
    },
    tags=["booking-guard", "deploy"],
    doc_md=__doc__,
)
def deploy_consistency_migrations():
    @task(on_failure_callback=slack_failure_notifier)
    def migrate() -> str:
        from booking_guard.airflow import tasks

        return tasks.migrate(get_current_context())

    migrate()


deploy_consistency_migrations()
