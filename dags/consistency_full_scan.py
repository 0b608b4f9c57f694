"""Full scan split into company shards: for one big database, several workers (Celery) check
it at once, each shard a mapped task. The same findings and alerts as the monitor's full scan;
trigger with ``{"shards": N}`` (default 2). Rules that cannot be split by company (a booking id
shared across companies, back-references) run whole in shard 0.

    open_run ── scan_shard[0..N-1] ── merge ── record_alerts ── notify
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import Param, dag, task

from booking_guard.airflow.notifier import slack_failure_notifier
from booking_guard.airflow.pools import database_pool

# The pool of the database-heavy tasks (booking_guard.airflow.pools).
DB_POOL = database_pool()


@dag(
    dag_id="consistency_full_scan",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=timedelta(hours=1),
    default_args={
        "owner": "data-engineering",
        "retries": 1,
        "retry_delay": timedelta(minutes=1),
        "on_failure_callback": slack_failure_notifier,
    },
    on_failure_callback=slack_failure_notifier,
    params={"shards": Param(2, type="integer", minimum=1, maximum=64)},
    tags=["booking-guard", "data-quality"],
    doc_md=__doc__,
)
def consistency_full_scan():
    @task
    def open_run(params: dict | None = None) -> list[dict]:
        from booking_guard.airflow import tasks

        return tasks.open_full_scan(int((params or {}).get("shards", 2)))

    @task(pool=DB_POOL)
    def scan_shard(job: dict) -> dict:
        from booking_guard.airflow import tasks

        return tasks.scan_shard(job)

    @task(pool=DB_POOL)
    def merge(parts: list[dict]) -> dict:
        from booking_guard.airflow import tasks

        return tasks.merge_shards(list(parts))

    @task(pool=DB_POOL)
    def record_alerts(run: dict) -> dict:
        from booking_guard.airflow import tasks

        return tasks.record_alerts(run)

    @task
    def notify() -> dict:
        from booking_guard.airflow import tasks

        return tasks.notify()

    parts = scan_shard.expand(job=open_run())
    record_alerts(merge(parts)) >> notify()


consistency_full_scan()
