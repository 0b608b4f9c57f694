"""The bodies of ``consistency_daily_report``'s tasks: which day, then the library's report.

A scheduled run at 02:00 local time reports on the previous local day; a manual trigger may name
another (param ``date``) or takes the day before the trigger time.
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from datetime import UTC, date, datetime
from typing import Any

from booking_guard.airflow.connections import settings
from booking_guard.errors import BookingGuardError
from booking_guard.settings import timezone_name

log = logging.getLogger(__name__)


def schedule_timezone() -> str:
    """The zone the DAG's 02:00 is read in (``BOOKING_GUARD_TIMEZONE``, validated)."""
    return timezone_name()


def report_day(context: Any) -> date:
    """The ``date`` param, or the local day before the run was due."""
    from booking_guard.report import previous_day

    wanted = (context.get("params") or {}).get("date")
    if wanted:
        try:
            return date.fromisoformat(str(wanted))
        except ValueError:
            raise BookingGuardError(f"param date must be YYYY-MM-DD, got {wanted!r}") from None
    dag_run = context.get("dag_run")
    due = context.get("logical_date") or getattr(dag_run, "run_after", None) or datetime.now(UTC)
    return previous_day(due, schedule_timezone())


def compute(context: Any) -> str:
    """``compute_figures``: every figure of the day into the history; the day, for XCom."""
    from booking_guard import report

    day = report_day(context)
    r = report.compute(settings().database_url, day, schedule_timezone())
    log.info(
        "report %s: consistency %.2f %%, %s calls, %s new alerts",
        day,
        r.value("consistency_rate_pct"),
        r.value("calls"),
        r.value("alerts_new"),
    )
    return day.isoformat()


def publish(day: str) -> dict[str, str]:
    """``publish``: the JSON, Markdown and HTML files of the stored day."""
    from booking_guard import report

    s = settings()
    stored = _stored(s.database_url, day)
    return {kind: str(path) for kind, path in report.write_files(stored, s.report_dir).items()}


def notify(day: str) -> dict[str, Any]:
    """``notify``: the Slack summary of the stored day, throttled like the alerts."""
    from booking_guard import report

    s = settings()
    return asdict(report.send_summary(s, _stored(s.database_url, day)))


def _stored(url: str, day: str) -> Any:
    from booking_guard import report

    stored = report.load(url, date.fromisoformat(day))
    if stored is None:
        raise BookingGuardError(f"no stored report for {day}: compute_figures did not run")
    return stored
