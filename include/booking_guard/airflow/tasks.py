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
    """``consistency_monitor.detect``: the rules into the run's findings (no GX here)."""
    from booking_guard import monitor

    full = bool(context["params"].get("full", False))
    run = monitor.detect(settings(), full=full, interval=data_interval(context))
    window = run.window_start.isoformat() if run.window_start else "everything"
    log.info("run %s (%s, since %s): %s findings", run.run_id, run.mode, window, run.total)
    return dump_run(run)


def record_alerts(run: dict[str, Any]) -> dict[str, Any]:
    """``consistency_monitor.record_alerts``: alerts from the run's findings; closes the run.
    Logs one line per rule and the run's totals."""
    from booking_guard import monitor
    from booking_guard.rules import RULES_BY_ID

    detection_run = load_run(run)
    changes = monitor.record(settings(), detection_run)
    for rule_id, found in detection_run.counts.items():
        rule, changed = RULES_BY_ID[rule_id], changes.by_rule[rule_id]
        log.info(
            "rule %-26s %-8s findings %7d  new %6d  resolved %6d  %6.3f s",
            rule_id,
            rule.severity,
            found,
            changed.opened,
            changed.resolved,
            detection_run.seconds.get(rule_id, 0.0),
        )
    log.info(
        "run %s: %s findings, %s new alerts, %s seen again, %s resolved",
        detection_run.run_id,
        detection_run.total,
        changes.opened,
        changes.seen_again,
        changes.resolved,
    )
    return asdict(changes)


def validate(run: dict[str, Any]) -> dict[str, Any]:
    """``consistency_monitor.validate``: the GX suite over the run's findings and Data Docs, off
    the alert path; skipped when the findings equal the last validated run's."""
    from booking_guard import monitor

    summary = monitor.validate(settings(), load_run(run))
    if summary.unchanged_since is not None:
        log.info("findings unchanged since run %s: its validation stands", summary.unchanged_since)
    log.info("validation %s; data docs: %s", summary.success, summary.data_docs_index)
    return {
        "success": summary.success,
        "unchanged_since": summary.unchanged_since,
        "data_docs": str(summary.data_docs_index) if summary.data_docs_index else None,
        "failed_rules": [r.rule_id for r in summary.results if not r.success],
    }


def correct(run: dict[str, Any], rule_id: str) -> dict[str, Any]:
    """``consistency_monitor.correct_<rule>``: one rule's auto-correction of the run's findings.
    A rule stopped by the blast-radius limit fails without retries (a retry would be stopped
    again) so that the failure callback fires."""
    from airflow.sdk.exceptions import AirflowFailException

    from booking_guard.corrections import CorrectionBlocked, step_correct

    try:
        return step_correct(settings(), int(run["run_id"]), rule_id)
    except CorrectionBlocked as exc:
        raise AirflowFailException(str(exc)) from None


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


def open_full_scan(shards: int) -> list[dict[str, Any]]:
    """``consistency_full_scan.open_run``: the run the shards fill; one job per shard."""
    from booking_guard import detection

    if not 1 <= shards <= 64:
        raise ValueError(f"shards must be between 1 and 64, got {shards}")
    run = dump_run(detection.open_run(settings().database_url, "full", None))
    return [{"run": run, "shard": [index, shards]} for index in range(shards)]


def scan_shard(job: dict[str, Any]) -> dict[str, Any]:
    """``consistency_full_scan.scan_shard`` (mapped): one company shard's findings."""
    from booking_guard import detection
    from booking_guard.rules import Shard

    index, count = job["shard"]
    part = detection.scan_shard(settings().database_url, load_run(job["run"]), Shard(index, count))
    log.info("shard %s of %s: %s findings", index, count, part.total)
    return dump_run(part)


def merge_shards(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """``consistency_full_scan.merge``: the shards' counts as one full run, for record_alerts."""
    from booking_guard import detection

    runs = [load_run(p) for p in parts]
    merged = detection.merge_shards(settings().database_url, runs[0], runs)
    return dump_run(merged)
