"""The Airflow adapter's pure parts: XCom conversion, the data interval of manual runs."""

from __future__ import annotations

from datetime import UTC, datetime

from booking_guard.airflow.tasks import data_interval
from booking_guard.airflow.xcom import dump_run, load_run
from booking_guard.cli import ExitCode
from booking_guard.detection import DetectionRun
from booking_guard.severity import Severity


def test_a_run_survives_xcom() -> None:
    run = DetectionRun(7, "incremental", datetime(2026, 11, 1, tzinfo=UTC), {"a": 2}, {"a": 0.5})
    assert load_run(dump_run(run)) == run
    full = DetectionRun(8, "full", None, {}, {})
    assert load_run(dump_run(full)) == full


def test_a_manual_trigger_has_no_data_interval() -> None:
    # Airflow 3 gives runs triggered without a logical date no data interval at all.
    assert data_interval({"params": {"full": True}}) is None
    assert data_interval({"data_interval_start": None, "data_interval_end": None}) is None
    start, end = datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 1, 0, 5, tzinfo=UTC)
    assert data_interval({"data_interval_start": start, "data_interval_end": end}) == (start, end)


def test_exit_codes_grade_findings() -> None:
    assert ExitCode.for_findings([]) is ExitCode.CLEAN
    assert ExitCode.for_findings([Severity.INFO, Severity.WARNING]) is ExitCode.FINDINGS
    assert ExitCode.for_findings([Severity.INFO, Severity.CRITICAL]) is ExitCode.CRITICAL
