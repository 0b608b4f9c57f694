"""The daily report's figures on crafted days with known counts, its history, CLI and summary."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from booking_guard import migrations, report
from booking_guard.settings import Settings
from tests.helpers import cli, plant, query

BERLIN = "Europe/Berlin"
DAY = date(2026, 11, 2)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.fixture
def db(migrated_db: str) -> str:
    plant(migrated_db, "INSERT INTO companies (id, name) VALUES (1, 'one'), (2, 'two')")
    return migrated_db


def calls(url: str, *rows: tuple[int, int, str]) -> None:
    """(id, company, created_at UTC); written past the triggers, with a direction."""
    for call_id, company, created in rows:
        plant(
            url,
            "INSERT INTO calls (id, company_id, direction, created_at, updated_at)"
            " VALUES (%s, %s, 'inbound', %s, %s)",
            (call_id, company, at(created), at(created)),
        )


def alert(
    url: str,
    rule: str,
    entity_id: int,
    company: int | None,
    detected: str,
    *,
    resolved: str | None = None,
    severity: str = "critical",
    entity_type: str = "call",
) -> None:
    """A detection alert (with a fingerprint), open from ``detected`` until ``resolved``."""
    plant(
        url,
        "INSERT INTO data_consistency_alerts (company_id, alert_type, severity, entity_type,"
        " entity_id, fingerprint, description, detected_at, last_seen_at, resolved_at)"
        " VALUES (%s, %s, %s, %s, %s, %s, 'd', %s, %s, %s)",
        (
            company,
            rule,
            severity,
            entity_type,
            entity_id,
            f"{rule}:{entity_type}:{entity_id}",
            at(detected),
            at(detected),
            at(resolved) if resolved else None,
        ),
    )


def audit(url: str, rule: str, entity_id: int, company: int, when: str, source: str) -> None:
    """An audit row of a correction (no fingerprint, auto_corrected)."""
    plant(
        url,
        "INSERT INTO data_consistency_alerts (company_id, alert_type, severity, entity_type,"
        " entity_id, description, metadata, detected_at, last_seen_at, resolved_at,"
        " auto_corrected, corrected_at)"
        " VALUES (%s, %s, 'warning', 'call', %s, 'd', jsonb_build_object('source', %s::text),"
        " %s, %s, %s, true, %s)",
        (company, rule, entity_id, source, *[at(when)] * 4),
    )


def review_item(
    url: str, call_id: int, company: int, created: str, *, escalated: str | None = None
) -> None:
    plant(
        url,
        "INSERT INTO manual_review_queue (company_id, call_id, reason, created_at, escalated_at)"
        " VALUES (%s, %s, 'missing_appointment', %s, %s)",
        (company, call_id, at(created), at(escalated) if escalated else None),
    )


def test_an_empty_day_has_rate_100_and_every_headline_figure(db: str) -> None:
    r = report.compute(db, DAY, "UTC")
    assert r.value("consistency_rate_pct") == 100.0
    data = r.to_dict()
    assert data["summary"] == {
        "total_calls": 0,
        "total_appointments": 0,
        "inconsistent_calls": 0,
        "total_inconsistencies": 0,
        "consistency_rate_pct": 100.0,
        "consistency_rate_change": None,
    }
    assert data["resolution"] == {"auto_corrected": 0, "manual_review": 0, "manual_share_pct": 0.0}
    assert data["tenants"] == [] and data["top_issues"] == []
    assert data["period"]["hours"] == 24


def test_alerts_outnumbering_calls_count_distinct_inconsistent_calls(db: str) -> None:
    calls(db, (1, 1, "2026-11-02 08:00"), (2, 1, "2026-11-02 09:00"), (3, 1, "2026-11-01 09:00"))
    plant(
        db,
        "INSERT INTO appointments (id, company_id, call_id, created_at, updated_at)"
        " VALUES (10, 1, 1, '2026-11-02 08:01+00', '2026-11-02 08:01+00')",
    )
    for rule in ("session_outcome_mismatch", "missing_appointment", "missing_direction"):
        alert(db, rule, 1, 1, "2026-11-02 08:05")
    alert(db, "duplicate_booking_id", 10, 1, "2026-11-02 08:05", entity_type="appointment")
    for other in range(100, 110):  # alerts about calls of other days
        alert(db, "missing_direction", other, 1, "2026-11-02 10:00", severity="warning")
    alert(db, "booking_failure", 2, 1, "2026-11-02 09:05", severity="info")  # not an inconsistency
    audit(db, "session_outcome_mismatch", 2, 1, "2026-11-02 09:00", "trigger")  # corrected at once

    r = report.compute(db, DAY, "UTC")
    assert r.value("alerts_new") == 15 > r.value("calls") == 2
    assert r.value("inconsistent_calls") == 1
    assert r.value("consistency_rate_pct") == 50.0
    assert r.value("appointments") == 1
    assert r.breakdown("alerts_new") == {
        "missing_direction": 11,
        "booking_failure": 1,
        "duplicate_booking_id": 1,
        "missing_appointment": 1,
        "session_outcome_mismatch": 1,
    }
    assert r.value("trigger_corrections") == r.value("auto_corrected") == 1


def test_the_day_is_the_local_day_on_daylight_saving_days(db: str) -> None:
    # 2026-03-29 in Berlin: 00:00 CET = 23:00 UTC the day before, 24:00 CEST = 22:00 UTC.
    calls(
        db,
        (1, 1, "2026-03-28 22:59"),  # 23:59 on the 28th, local
        (2, 1, "2026-03-28 23:00"),  # 00:00 on the 29th: first instant in
        (3, 1, "2026-03-29 01:30"),  # 03:30 CEST (02:00-03:00 does not exist)
        (4, 1, "2026-03-29 21:59"),  # 23:59 CEST: last minute in
        (5, 1, "2026-03-29 22:00"),  # 00:00 on the 30th: out
        # 2026-10-25 in Berlin: 25 hours, 22:00 UTC the day before to 23:00 UTC.
        (6, 1, "2026-10-24 22:00"),
        (7, 1, "2026-10-25 00:30"),  # 02:30 CEST
        (8, 1, "2026-10-25 01:30"),  # 02:30 CET, the repeated hour
        (9, 1, "2026-10-25 22:59"),  # 23:59 CET
        (10, 1, "2026-10-25 23:00"),  # out
    )
    alert(db, "missing_direction", 4, 1, "2026-03-29 21:59:30", severity="warning")
    spring = report.compute(db, date(2026, 3, 29), BERLIN)
    assert spring.period.hours == 23
    assert spring.value("calls") == 3
    assert spring.value("consistency_rate_pct") == round(100 * 2 / 3, 2)
    autumn = report.compute(db, date(2026, 10, 25), BERLIN)
    assert autumn.period.hours == 25
    assert autumn.value("calls") == 4
    utc = report.compute(db, date(2026, 3, 29), "UTC")
    assert utc.value("calls") == 3  # calls 3, 4 and 5


def test_two_tenants_have_their_own_figures(db: str) -> None:
    calls(db, *[(i, 1, f"2026-11-02 0{i}:00") for i in range(1, 5)])
    calls(db, (5, 2, "2026-11-02 10:00"), (6, 2, "2026-11-02 11:00"))
    alert(db, "missing_appointment", 1, 1, "2026-11-02 06:00")  # open at the end
    alert(
        db,
        "missing_direction",
        5,
        2,
        "2026-11-02 10:05",
        severity="warning",
        resolved="2026-11-02 12:00",
    )  # resolved the same day: inconsistent, not open
    alert(
        db, "missing_appointment", 6, 2, "2026-11-02 11:05", resolved="2026-11-03 01:00"
    )  # resolved after the day: open at its end
    alert(
        db, "missing_appointment", 900, 2, "2026-10-20 00:00", resolved="2026-11-02 03:00"
    )  # an old alert resolved in the day
    audit(db, "missing_direction", 2, 1, "2026-11-02 02:00", "trigger")
    audit(db, "inconsistent_link_status", 3, 1, "2026-11-02 03:00", "correction")
    audit(db, "missing_direction", 5, 2, "2026-11-02 12:00", "trigger")
    review_item(db, 1, 1, "2026-11-01 06:00", escalated="2026-11-02 07:00")
    review_item(db, 6, 2, "2026-11-02 12:00")

    r = report.compute(db, DAY, "UTC")
    assert r.tenants == [1, 2]
    one = {f: r.value(f, company=1) for f in report.TENANT_COLUMNS}
    two = {f: r.value(f, company=2) for f in report.TENANT_COLUMNS}
    assert (one["calls"], one["inconsistent_calls"], one["consistency_rate_pct"]) == (4, 1, 75.0)
    assert (two["calls"], two["inconsistent_calls"], two["consistency_rate_pct"]) == (2, 2, 0.0)
    assert r.value("consistency_rate_pct") == 50.0
    assert (one["alerts_new"], one["alerts_resolved"], one["open_alerts"]) == (1, 0, 1)
    assert (two["alerts_new"], two["alerts_resolved"], two["open_alerts"]) == (2, 2, 1)
    assert r.open_alerts() == [("missing_appointment", "critical", 2)]
    assert r.value("open_alerts.critical", "missing_appointment", company=2) == 1
    assert (one["auto_corrected"], two["auto_corrected"], r.value("auto_corrected")) == (2, 1, 3)
    assert r.value("trigger_corrections") == 2 and r.value("monitor_corrections") == 1
    # Manual share: review-queue items against items plus auto-corrections.
    assert (one["review_queued"], two["review_queued"]) == (0, 1)
    assert r.value("manual_share_pct") == 25.0 and two["manual_share_pct"] == 50.0
    assert r.value("review_open") == 2 and r.value("review_escalated", company=1) == 1
    assert r.value("review_oldest_open_hours") == 42.0  # from 06:00 on the 1st to 24:00 on the 2nd


def test_rerunning_a_day_replaces_its_rows_and_trends_compare_days(db: str) -> None:
    calls(db, (1, 1, "2026-11-01 08:00"), (2, 1, "2026-11-02 08:00"), (3, 1, "2026-11-02 09:00"))
    alert(db, "missing_appointment", 2, 1, "2026-11-02 08:05")
    report.compute(db, DAY - timedelta(days=1), "UTC")
    first = report.compute(db, DAY, "UTC")
    rows = query(db, "SELECT count(*) FROM bg_report_figures WHERE report_date = %s", (DAY,))
    assert first.value("consistency_rate_pct") == 50.0
    assert first.change("consistency_rate_pct") == -50.0
    assert [d for d, _ in first.trends["calls"]] == [DAY - timedelta(days=1), DAY]

    calls(db, (4, 1, "2026-11-02 10:00"), (5, 1, "2026-11-02 11:00"))
    again = report.compute(db, DAY, "UTC")
    assert (
        query(db, "SELECT count(*) FROM bg_report_figures WHERE report_date = %s", (DAY,)) == rows
    )
    assert again.value("calls") == 4 and again.value("consistency_rate_pct") == 75.0
    duplicates = query(
        db,
        "SELECT count(*) FROM (SELECT 1 FROM bg_report_figures"
        " GROUP BY report_date, company_id, figure, key HAVING count(*) > 1) d",
    )
    assert duplicates == [(0,)]
    assert report.load(db, DAY).to_dict()["summary"] == again.to_dict()["summary"]
    assert report.report_days(db) == [DAY, DAY - timedelta(days=1)]


def test_breaker_transitions_come_from_its_alerts_and_states(db: str) -> None:
    plant(
        db,
        "INSERT INTO circuit_breaker_states (id, circuit_key, state, opened_at, closed_at)"
        " VALUES (1, 'calcom', 'closed', '2026-11-02 10:00+00', '2026-11-02 10:05+00'),"
        " (2, 'sms', 'open', '2026-11-02 20:00+00', NULL)",
    )
    alert(
        db,
        "circuit_open",
        1,
        None,
        "2026-11-02 10:00",
        resolved="2026-11-02 10:05",
        entity_type="circuit",
    )
    r = report.compute(db, DAY, "UTC")
    assert r.breakdown("breaker_opened") == {"calcom": 1, "sms": 1}
    assert r.breakdown("breaker_closed") == {"calcom": 1}
    assert (r.value("breaker_opened"), r.value("breaker_closed")) == (2, 1)
    assert r.tenants == []  # a circuit without a tenant counts over all tenants only


def test_the_report_needs_its_migration(app_db: str) -> None:
    migrations.upgrade(app_db, "0003")
    done = cli("report", "--date", "2026-11-02", url=app_db)
    assert done.returncode == 3
    assert "report history table is missing" in done.stderr and "migrate" in done.stderr


def test_cli_writes_the_three_files_and_prints_json(db: str, tmp_path: Path) -> None:
    calls(db, (1, 1, "2026-11-02 08:00"))
    out = tmp_path / "reports"
    done = cli("report", "--date", "2026-11-02", "--out", str(out), "--json", url=db)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["summary"]["total_calls"] == 1 and data["period"]["date"] == "2026-11-02"
    assert sorted(p.name for p in out.iterdir()) == [
        "report-2026-11-02.html",
        "report-2026-11-02.json",
        "report-2026-11-02.md",
    ]
    text = cli("report", "--date", "2026-11-02", "--out", str(out), url=db)
    assert text.returncode == 0 and "consistency 100.00 %" in text.stdout
    assert "report-2026-11-02.html" in text.stdout
    bad = cli("report", "--date", "2026-13-01", url=db)
    assert bad.returncode == 3 and "YYYY-MM-DD" in bad.stderr
    zone = cli("report", url=db, env={"BOOKING_GUARD_TIMEZONE": "Mars/Olympus"})
    assert zone.returncode == 3 and "BOOKING_GUARD_TIMEZONE" in zone.stderr


def test_slack_summary_is_sent_once_per_cooldown(db: str, slack, monkeypatch) -> None:
    calls(db, (1, 1, "2026-11-02 08:00"), (2, 1, "2026-11-02 09:00"))
    alert(db, "missing_appointment", 1, 1, "2026-11-02 08:05")
    alert(db, "missing_direction", 2, 1, "2026-11-02 09:05", severity="warning")
    alert(db, "missing_direction", 50, 1, "2026-11-02 09:05", severity="warning")
    alert(db, "invalid_value", 51, 1, "2026-11-02 09:05", severity="warning")
    alert(db, "cross_tenant_link", 52, 1, "2026-11-02 09:05")
    monkeypatch.setenv("BOOKING_GUARD_REPORT_BASE_URL", "https://airflow.example.com/")
    settings = Settings.from_env(db)
    r = report.compute(db, DAY, "UTC")
    first = report.send_summary(settings, r)
    second = report.send_summary(settings, r)
    assert first.sent == ["slack"] and second.throttled and not second.sent
    (text,) = slack.texts
    assert "consistency *0.00 %*" in text and "no earlier day" in text
    assert "Worst rules: missing_direction (2), cross_tenant_link (1), invalid_value (1)." in text
    assert "<https://airflow.example.com/booking-guard/reports/2026-11-02|Full report>" in text
