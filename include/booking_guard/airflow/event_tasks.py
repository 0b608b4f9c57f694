"""The bodies of ``consistency_events``' own tasks; recording and notifying are the monitor's
(``booking_guard.airflow.tasks``)."""

from __future__ import annotations

import logging
from dataclasses import asdict
from typing import Any

from booking_guard.airflow.connections import settings
from booking_guard.airflow.xcom import dump_run

log = logging.getLogger(__name__)


def drain() -> dict[str, Any]:
    """``consistency_events.drain``: take the pending change events. Nothing to check (an earlier
    run drained them) or a bulk load (the incremental run's business) skips the rest."""
    from airflow.sdk.exceptions import AirflowSkipException

    from booking_guard import change_events

    batch = change_events.drain(settings().database_url)
    if batch.entities == 0:
        raise AirflowSkipException("no pending change events")
    if batch.left_to_incremental:
        raise AirflowSkipException(
            f"{batch.entities} changed entities, more than {change_events.MAX_EVENT_ENTITIES}:"
            " left to the next incremental run"
        )
    log.info(
        "%s changed calls, %s changed appointments",
        len(batch.call_ids),
        len(batch.appointment_ids),
    )
    return asdict(batch)


def detect(batch: dict[str, Any]) -> dict[str, Any]:
    """``consistency_events.detect``: the entity-scope rules over the drained entities."""
    from booking_guard import detection

    run = detection.detect_entities(
        settings().database_url,
        call_ids=[int(i) for i in batch["call_ids"]],
        appointment_ids=[int(i) for i in batch["appointment_ids"]],
    )
    log.info("event run %s: %s findings", run.run_id, run.total)
    return dump_run(run)
