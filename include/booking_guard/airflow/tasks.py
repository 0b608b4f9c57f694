"""The bodies of the DAGs' tasks: read the Airflow context, call the library, return XCom.

Each function is what one ``@task`` runs; the DAG files only wire them.
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from datetime import datetime
from typing import Any

from booking_guard.airflow.connections import settings
from booking_guard.airflow.xcom import dump_run, load_run

log = logging.getLogger(__name__)


def data_interval(context: Any) -> tuple[datetime, datetime] | None:
    """The run's data interval; None for a manual or API trigger, which Airflow 3 gives none."""
    start, end = context.get("data_interval_start"), context.get("data_interval_end")
    if start is None or end is None:
        return None
    return start, end


def detect(context: Any) -> dict[str, Any]:
    """``consistency_monitor.detect``: the rules, then the GX suite and Data Docs."""
    from booking_guard import monitor

    full = bool(context["params"].get("full", False))
    run, validation = monitor.detect_and_validate(
        settings(), full=full, interval=data_interval(context)
    )
    log.info(
        "run %s (%s): %s findings; data docs %s",
        run.run_id,
        run.mode,
        run.total,
        validation.data_docs_index,
    )
    return {**dump_run(run), "validation_success": validation.success}


def record_alerts(run: dict[str, Any]) -> dict[str, Any]:
    """``consistency_monitor.record_alerts``: alerts from the run's findings; closes the run."""
    from booking_guard import monitor

    return asdict(monitor.record(settings(), load_run(run)))


def notify() -> dict[str, Any]:
    """``consistency_monitor.notify``: the pending, unthrottled notifications."""
    from booking_guard import monitor

    return asdict(monitor.notify(settings()))


def migrate(context: Any) -> str:
    """``deploy_consistency_migrations.migrate``: deploy (or pretend) to the target revision."""
    from booking_guard.migrations import deploy

    params = context["params"]
    result: str = deploy(settings().database_url, params["target"], pretend=bool(params["pretend"]))
    log.info("%s", result)
    return result
