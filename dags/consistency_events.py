"""Consistency events: seconds-fresh detection. The change triggers of migration 0007 NOTIFY on
``booking_guard_changes``; an AssetWatcher with our event trigger LISTENs in the triggerer and
updates the asset ``booking_guard_changes``, which schedules this DAG. A run checks just the
changed calls and appointments (and their linked rows), then records and notifies like the
5-minute monitor, which stays the safety net (a lost notification only delays detection until
its next run; a bulk load of more than 10,000 entities is left to it).

    drain ── detect ── record_alerts ── notify

One run at a time; events arriving meanwhile wait in ``bg_change_events`` for the next run.
"""

from __future__ import annotations

import os
from datetime import timedelta

import pendulum
from airflow.sdk import Asset, AssetWatcher, dag, task

from booking_guard.airflow.change_trigger import ChangeEventTrigger
from booking_guard.airflow.notifier import slack_failure_notifier

CHANGES = Asset(
    "booking_guard_changes",
    watchers=[
        AssetWatcher(
            name="booking_guard_changes_listener",
            trigger=ChangeEventTrigger(conn_id=os.environ.get("BOOKING_GUARD_DATABASE_CONN_ID")),
        )
    ],
)

DEFAULT_ARGS = {
    "owner": "data-engineering",
    "retries": 1,
    "retry_delay": timedelta(seconds=10),
    "execution_timeout": timedelta(minutes=2),
    "on_failure_callback": slack_failure_notifier,
}


@dag(
    dag_id="consistency_events",
    schedule=[CHANGES],
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=timedelta(minutes=5),
    default_args=DEFAULT_ARGS,
    on_failure_callback=slack_failure_notifier,
    tags=["booking-guard", "data-quality"],
    doc_md=__doc__,
)
def consistency_events():
    @task
    def drain() -> dict:
        from booking_guard.airflow import event_tasks

        return event_tasks.drain()

    @task
    def detect(batch: dict) -> dict:
        from booking_guard.airflow import event_tasks

        return event_tasks.detect(batch)

    @task
    def record_alerts(run: dict) -> dict:
        from booking_guard.airflow import tasks

        return tasks.record_alerts(run)

    @task
    def notify() -> dict:
        from booking_guard.airflow import tasks

        return tasks.notify()

    record_alerts(detect(drain())) >> notify()


consistency_events()
