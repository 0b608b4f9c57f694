"""The DAGs' failure callback: a provider-style notifier that tells on-call in Slack."""

from __future__ import annotations

import os
from typing import Any

from airflow.sdk import BaseNotifier

from booking_guard.channels import SlackChannel
from booking_guard.templates import render


class SlackFailureNotifier(BaseNotifier):
    """Names and ids only: an exception message may quote row data, so it is not sent. A Slack
    that cannot be reached is logged; the failure itself stays visible in the Airflow UI."""

    def __init__(self, conn_id: str | None = None) -> None:
        super().__init__()
        self.conn_id = conn_id or os.environ.get("BOOKING_GUARD_SLACK_CONN_ID", "slack_consistency")

    def notify(self, context: Any) -> None:
        ti = context.get("ti") or context.get("task_instance")
        dag_run = context.get("dag_run")
        dag_id = getattr(ti, "dag_id", None) or getattr(dag_run, "dag_id", "?")
        what = f"task `{ti.task_id}` of DAG `{dag_id}`" if ti else f"DAG `{dag_id}`"
        log_url = getattr(ti, "log_url", None) if ti is not None else None
        text = render(
            "task_failed.txt",
            what=what,
            run_id=context.get("run_id"),
            logs=f" Logs: {log_url}" if log_url else "",
        )
        try:
            SlackChannel(self.conn_id).send("booking-guard: task failed", text)
        except Exception as exc:  # a callback must not raise; the failure is already recorded
            self.log.warning(
                "could not send the failure notice to Slack (%s): %s", self.conn_id, exc
            )


slack_failure_notifier = SlackFailureNotifier()
