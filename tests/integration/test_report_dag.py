"""The daily report DAG as Airflow sees it: schedule in the configured zone, a real run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import REPO, plant, query


@pytest.fixture
def dagbag(monkeypatch):
    """The DAG files parsed with BOOKING_GUARD_TIMEZONE=Europe/Berlin, as a deployment sets it."""
    from airflow.dag_processing.dagbag import DagBag

    monkeypatch.setenv("BOOKING_GUARD_TIMEZONE", "Europe/Berlin")
    subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), "airflow"), "db", "migrate"],
        check=True,
        capture_output=True,
    )
    return DagBag(dag_folder=str(REPO / "dags"))


def test_runs_at_two_in_the_configured_zone(dagbag) -> None:
    from airflow.sdk import CronTriggerTimetable

    from booking_guard.airflow.notifier import slack_failure_notifier

    assert dagbag.import_errors == {}
    dag = dagbag.dags.get("consistency_daily_report")
    assert isinstance(dag.timetable, CronTriggerTimetable)
    assert (dag.timetable.expression, str(dag.timetable.timezone)) == ("0 2 * * *", "Europe/Berlin")
    assert dag.max_active_runs == 1 and not dag.catchup
    assert [t.task_id for t in dag.topological_sort()] == ["compute_figures", "publish", "notify"]
    assert dag.get_task("notify").upstream_task_ids == {"compute_figures", "publish"}
    for task in dag.tasks:
        callbacks = task.on_failure_callback
        assert slack_failure_notifier in (callbacks if isinstance(callbacks, list) else [callbacks])


@pytest.mark.slow
def test_a_run_stores_writes_and_summarises_the_day(
    dagbag, migrated_db: str, slack, monkeypatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("BOOKING_GUARD_DATABASE_URL", migrated_db)
    monkeypatch.setenv("BOOKING_GUARD_REPORT_DIR", str(tmp_path / "reports"))
    plant(migrated_db, "INSERT INTO companies (id, name) VALUES (1, 'one')")
    plant(
        migrated_db,
        "INSERT INTO calls (id, company_id, direction, created_at, updated_at)"
        " VALUES (1, 1, 'inbound', '2026-03-29 10:00+00', '2026-03-29 10:00+00')",
    )
    run = dagbag.dags.get("consistency_daily_report").test(run_conf={"date": "2026-03-29"})
    assert run.state == "success"
    assert query(
        migrated_db,
        "SELECT value, timezone FROM bg_report_figures"
        " WHERE report_date = '2026-03-29' AND company_id IS NULL AND figure = 'calls'",
    ) == [(1, "Europe/Berlin")]
    assert (tmp_path / "reports" / "report-2026-03-29.html").is_file()
    (text,) = slack.texts
    assert "daily report 2026-03-29 (Europe/Berlin)" in text and "1 calls" in text
