"""Airflow callbacks shared by every DAG of the project."""

from __future__ import annotations

import logging
import os

log = logging.getLogger(__name__)


def slack_failure_callback(context: dict) -> None:
    """Tell on-call in Slack that a task or a DAG run failed (``on_failure_callback``).

    Names and ids only: an exception message may quote row data, so it is not sent. A Slack that
    cannot be reached is logged; the failure itself stays visible in the Airflow UI.
    """
    from airflow.providers.slack.hooks.slack_webhook import SlackWebhookHook

    ti = context.get("ti") or context.get("task_instance")
    dag_run = context.get("dag_run")
    dag_id = getattr(ti, "dag_id", None) or getattr(dag_run, "dag_id", "?")
    what = f"task `{ti.task_id}` of DAG `{dag_id}`" if ti else f"DAG `{dag_id}`"
    text = f":rotating_light: booking-guard: {what} failed (run `{context.get('run_id')}`)."
    if ti is not None and getattr(ti, "log_url", None):
        text += f" Logs: {ti.log_url}"
    conn_id = os.environ.get("BOOKING_GUARD_SLACK_CONN_ID", "slack_consistency")
    try:
        SlackWebhookHook(slack_webhook_conn_id=conn_id, timeout=10).send(text=text)
    except Exception as exc:  # a callback must not raise; the failure is already recorded
        log.warning("could not send the failure notice to Slack (%s): %s", conn_id, exc)
