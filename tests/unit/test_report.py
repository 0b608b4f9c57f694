"""The report's parts that need no database: periods, settings, rendering, the summary text."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest

from booking_guard import report
from booking_guard.airflow.report_tasks import report_day
from booking_guard.errors import BookingGuardError, ConfigurationError
from booking_guard.report import DailyReport, period
from booking_guard.settings import Settings, timezone_name

DAY = date(2026, 11, 2)


@pytest.mark.parametrize(
    ("day", "zone", "hours", "start"),
    [
        (date(2026, 3, 29), "Europe/Berlin", 23, "2026-03-28T23:00:00+00:00"),
        (date(2026, 10, 25), "Europe/Berlin", 25, "2026-10-24T22:00:00+00:00"),
        (date(2026, 11, 2), "Europe/Berlin", 24, "2026-11-01T23:00:00+00:00"),
        (date(2026, 3, 8), "America/New_York", 23, "2026-03-08T05:00:00+00:00"),
        (date(2026, 3, 29), "UTC", 24, "2026-03-29T00:00:00+00:00"),
    ],
)
def test_a_period_is_the_local_day_half_open(day, zone, hours, start) -> None:
    p = period(day, zone)
    assert p.hours == hours and p.start.isoformat() == start
    assert period(date.fromordinal(day.toordinal() + 1), zone).start == p.end  # no gap, no overlap


def test_the_previous_day_is_local() -> None:
    # 00:30 UTC on the 2nd is 01:30 in Berlin: the report covers the 1st there, too.
    now = datetime(2026, 11, 2, 0, 30, tzinfo=UTC)
    assert report.previous_day(now, "UTC") == date(2026, 11, 1)
    assert report.previous_day(now, "America/Los_Angeles") == date(2026, 10, 31)


def test_the_dag_reports_on_the_day_before_its_run_or_the_param(monkeypatch) -> None:
    monkeypatch.setenv("BOOKING_GUARD_TIMEZONE", "Europe/Berlin")
    due = datetime(2026, 3, 30, 0, 0, tzinfo=UTC)  # 02:00 CEST on the 30th
    assert report_day({"params": {"date": None}, "logical_date": due}) == date(2026, 3, 29)
    assert report_day({"params": {"date": "2026-01-05"}, "logical_date": due}) == date(2026, 1, 5)
    with pytest.raises(BookingGuardError, match="YYYY-MM-DD"):
        report_day({"params": {"date": "5 Jan"}})


def test_timezone_and_report_settings_are_validated() -> None:
    assert timezone_name({}) == "UTC"
    assert timezone_name({"BOOKING_GUARD_TIMEZONE": "Europe/Berlin"}) == "Europe/Berlin"
    for bad in ("Mars/Olympus", "../../etc/passwd", "/etc/localtime", "europe/berlin"):
        with pytest.raises(ConfigurationError, match="BOOKING_GUARD_TIMEZONE"):
            timezone_name({"BOOKING_GUARD_TIMEZONE": bad})
    with pytest.raises(ConfigurationError, match="BOOKING_GUARD_REPORT_BASE_URL"):
        Settings(report_base_url="ftp://airflow").validate()
    with pytest.raises(ConfigurationError, match="BOOKING_GUARD_REPORT_BASE_URL"):
        Settings(report_base_url="https://").validate()
    Settings(report_base_url="https://airflow.example.com").validate()


def crafted() -> DailyReport:
    figures = {
        None: {
            "calls": {"": 200},
            "inconsistent_calls": {"": 3},
            "consistency_rate_pct": {"": 98.5},
            "alerts_new": {"": 9, "missing_direction": 5, "missing_appointment": 3, "x<y>": 1},
            "open_alerts.critical": {"missing_appointment": 4},
            "open_alerts.warning": {"missing_direction": 7},
            "auto_corrected": {"": 4, "missing_direction": 4},
        },
        7: {"calls": {"": 200}, "consistency_rate_pct": {"": 98.5}},
    }
    trends = {
        "consistency_rate_pct": [
            (date(2026, 10, 30), 97.0),
            (date(2026, 11, 1), 99.0),
            (DAY, 98.5),
        ],
        "calls": [(date(2026, 11, 1), 150), (DAY, 200)],
    }
    return DailyReport(period(DAY, "UTC"), datetime(2026, 11, 3, 2, tzinfo=UTC), figures, trends)


def test_figures_breakdowns_and_changes() -> None:
    r = crafted()
    assert r.value("review_queued") == 0  # absent figures read as zero (before the review queue)
    assert r.worst_rules() == [("missing_direction", 5), ("missing_appointment", 3), ("x<y>", 1)]
    assert r.change("consistency_rate_pct") == -0.5 and r.change("calls") == 50
    assert r.open_alerts() == [
        ("missing_appointment", "critical", 4),
        ("missing_direction", "warning", 7),
    ]
    assert r.tenants == [7]
    data = r.to_dict()
    assert data["top_issues"][0]["description"].startswith("Call has no direction")
    assert data["tenants"][0]["company_id"] == 7 and data["tenants"][0]["alerts_new"] == 0


def test_html_is_self_contained_and_escapes_names() -> None:
    html = report.render_html(crafted())
    assert not re.search(r"<script|<link|@import|url\(|https?:", html, re.IGNORECASE)
    assert "x&lt;y&gt;" in html and "x<y>" not in html
    assert html.count("<svg") == len(report.HEADLINE) + 3
    assert 'id="trend-consistency_rate_pct"' in html and "<polyline" in html


def test_markdown_has_tables_and_sparklines() -> None:
    text = report.render_markdown(crafted())
    assert text.startswith("# Daily consistency report: 2026-11-02")
    assert "| Consistency rate (%) | 98.50 | 99.00 |" in text
    assert "| missing_direction | 5 | 0 | 4 |" in text
    assert "`▁█▆`" in text  # 97 → 99 → 98.5


def test_summary_names_rate_change_worst_rules_and_link() -> None:
    text = report.summary_text(crafted(), "https://airflow.example.com/booking-guard/reports/x")
    assert "consistency *98.50 %* (-0.50 pt vs the day before)" in text
    assert "Worst rules: missing_direction (5), missing_appointment (3), x<y> (1)." in text
    assert text.endswith("<https://airflow.example.com/booking-guard/reports/x|Full report>")
    assert report.page_url(Settings(report_base_url="https://a.example"), DAY) == (
        "https://a.example/booking-guard/reports/2026-11-02"
    )
    assert report.page_url(Settings(), DAY) == ""
