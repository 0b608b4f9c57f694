"""The daily report: figures of one local day, their history, and the page analysts read.

The figures come from one set-wise query per group (``sql/report/<group>.sql``), each returning
``(company_id, figure, key, value)`` rows per tenant and over all tenants (company NULL). A run
writes them into ``bg_report_figures`` in one transaction that first deletes the day's old rows,
so re-running a day replaces it, and then reads the report back from that table: the JSON, the
Markdown, the HTML page and the plugin's past pages all show the stored rows, and the 30-day
trends survive restarts and alert pruning.

The period is the local day in ``BOOKING_GUARD_TIMEZONE`` as a half-open interval
``[00:00, next day 00:00)``: 23 or 25 hours on a daylight-saving day (BEHAVIOUR §G-10 fixed).
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from html import escape
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
from psycopg import sql

from booking_guard.channels import enabled_channels
from booking_guard.db import connect
from booking_guard.errors import BookingGuardError
from booking_guard.privacy import mask
from booking_guard.resources import load_sql
from booking_guard.rules import RULES_BY_ID
from booking_guard.settings import Settings
from booking_guard.severity import Severity
from booking_guard.templates import render
from booking_guard.throttle import Throttle

log = logging.getLogger(__name__)

FIGURE_GROUPS = ("calls", "alerts", "corrections", "review", "breakers")
# Figures derived from the stored rows of the groups above, in this order.
DERIVED = ("manual_share",)
TREND_DAYS = 30
# The headline figures: the trend charts, the Markdown trend lines, the day-before comparison.
HEADLINE = {
    "consistency_rate_pct": "Consistency rate (%)",
    "calls": "Calls",
    "inconsistent_calls": "Inconsistent calls",
    "alerts_new": "New alerts",
    "auto_corrected": "Auto-corrected",
    "review_queued": "Queued for review",
    "review_open": "Review queue (end of day)",
    "manual_share_pct": "Manual share (%)",
}
FRACTIONAL = {"consistency_rate_pct", "manual_share_pct", "review_oldest_open_hours"}
TENANT_COLUMNS = {
    "calls": "calls",
    "appointments": "appointments",
    "inconsistent_calls": "inconsistent calls",
    "consistency_rate_pct": "rate %",
    "alerts_new": "new alerts",
    "alerts_resolved": "resolved",
    "open_alerts": "open at end",
    "auto_corrected": "auto-corrected",
    "review_queued": "queued for review",
    "review_open": "review open",
    "manual_share_pct": "manual %",
}
WORST_RULES = 3
TOP_ISSUES = 5

Number = int | float


@dataclass(frozen=True)
class Period:
    """One local day as the half-open interval ``[start, end)`` in its time zone."""

    day: date
    timezone: str
    start: datetime
    end: datetime

    @property
    def hours(self) -> float:
        return (self.end - self.start).total_seconds() / 3600


def period(day: date, timezone: str) -> Period:
    """Local midnight to the next local midnight: a daylight-saving day has 23 or 25 hours."""
    zone = ZoneInfo(timezone)
    start = datetime.combine(day, time(), zone)
    end = datetime.combine(day + timedelta(days=1), time(), zone)
    return Period(day, timezone, start.astimezone(UTC), end.astimezone(UTC))


def previous_day(now: datetime, timezone: str) -> date:
    """The local day before the one ``now`` falls in (what the 02:00 run reports on)."""
    return now.astimezone(ZoneInfo(timezone)).date() - timedelta(days=1)


def _number(figure: str, value: Decimal) -> Number:
    return float(value) if figure in FRACTIONAL else int(value)


@dataclass
class DailyReport:
    """A stored day: every figure per tenant (``None`` = all tenants), and the trends."""

    period: Period
    generated_at: datetime
    # company -> figure -> key -> value; key '' is the figure itself, others its breakdown
    figures: dict[int | None, dict[str, dict[str, Number]]]
    trends: dict[str, list[tuple[date, Number]]] = field(default_factory=dict)

    def value(self, figure: str, key: str = "", company: int | None = None) -> Number:
        """A stored figure; 0 when the day has no row for it (nothing of that kind)."""
        return self.figures.get(company, {}).get(figure, {}).get(key, 0)

    def breakdown(self, figure: str, company: int | None = None) -> dict[str, Number]:
        """A figure per key (rule, circuit), largest first."""
        parts = {k: v for k, v in self.figures.get(company, {}).get(figure, {}).items() if k}
        return dict(sorted(parts.items(), key=lambda kv: (-kv[1], kv[0])))

    @property
    def tenants(self) -> list[int]:
        return sorted(c for c in self.figures if c is not None)

    def previous(self, figure: str) -> Number | None:
        """The figure on the day before, from the history; None when that day was not run."""
        before = self.period.day - timedelta(days=1)
        return next((v for d, v in self.trends.get(figure, []) if d == before), None)

    def change(self, figure: str) -> Number | None:
        before = self.previous(figure)
        return None if before is None else round(self.value(figure) - before, 2)

    def open_alerts(self) -> list[tuple[str, Severity, int]]:
        """Open alerts at the end of the day per (rule, severity), most severe first."""
        rows = [
            (rule, severity, int(count))
            for severity in Severity
            for rule, count in self.breakdown(f"open_alerts.{severity}").items()
        ]
        return sorted(rows, key=lambda r: (r[1].rank, -r[2], r[0]))

    def worst_rules(self, limit: int = WORST_RULES) -> list[tuple[str, int]]:
        """The rules with the most new alerts of the day."""
        return [(rule, int(n)) for rule, n in self.breakdown("alerts_new").items()][:limit]

    def to_dict(self) -> dict[str, Any]:
        """The JSON document: BEHAVIOUR §B.4's shape, its defects fixed, plus the new figures."""
        v = self.value
        p = self.period
        return {
            "period": {
                "date": p.day.isoformat(),
                "timezone": p.timezone,
                "start": p.start.isoformat(),
                "end": p.end.isoformat(),
                "hours": p.hours,
            },
            "summary": {
                "total_calls": v("calls"),
                "total_appointments": v("appointments"),
                "inconsistent_calls": v("inconsistent_calls"),
                "total_inconsistencies": v("alerts_new"),
                "consistency_rate_pct": v("consistency_rate_pct"),
                "consistency_rate_change": self.change("consistency_rate_pct"),
            },
            "inconsistencies_by_type": self.breakdown("alerts_new"),
            "resolution": {
                "auto_corrected": v("auto_corrected"),
                "manual_review": v("review_queued"),
                "manual_share_pct": v("manual_share_pct"),
            },
            "top_issues": [
                {"alert_type": rule, "description": _description(rule), "count": n}
                for rule, n in self.worst_rules(TOP_ISSUES)
            ],
            "alerts": {
                "new": v("alerts_new"),
                "resolved": v("alerts_resolved"),
                "open_at_end": v("open_alerts"),
                "resolved_by_type": self.breakdown("alerts_resolved"),
                "open_at_end_by_type": [
                    {"alert_type": rule, "severity": str(sev), "count": n}
                    for rule, sev, n in self.open_alerts()
                ],
            },
            "corrections": {
                "auto_corrected": v("auto_corrected"),
                "by_trigger": v("trigger_corrections"),
                "by_monitor": v("monitor_corrections"),
                "by_type": self.breakdown("auto_corrected"),
                "trigger_by_type": self.breakdown("trigger_corrections"),
            },
            "review_queue": {
                "queued": v("review_queued"),
                "resolved": v("review_resolved"),
                "escalated": v("review_escalated"),
                "open_at_end": v("review_open"),
                "oldest_open_hours": v("review_oldest_open_hours"),
            },
            "circuit_breakers": {
                "opened": v("breaker_opened"),
                "closed": v("breaker_closed"),
                "open_at_end": v("breaker_open_at_end"),
                "opened_by_circuit": self.breakdown("breaker_opened"),
                "closed_by_circuit": self.breakdown("breaker_closed"),
            },
            "tenants": [
                {"company_id": c, **{f: v(f, company=c) for f in TENANT_COLUMNS}}
                for c in self.tenants
            ],
            "trends": {
                figure: [{"date": d.isoformat(), "value": x} for d, x in points]
                for figure, points in self.trends.items()
            },
            "generated_at": self.generated_at.isoformat(),
        }


def _description(rule: str) -> str:
    known = RULES_BY_ID.get(rule)
    return known.description if known else rule


def compute(url: str, day: date, timezone: str) -> DailyReport:
    """Compute and store the figures of ``day``, replacing its old rows; the stored report."""
    p = period(day, timezone)
    params = {"day": day, "timezone": timezone, "start": p.start, "end": p.end}
    store = sql.SQL(load_sql("report/_store.sql"))
    with connect(url) as conn:
        _require_history_table(conn)
        psycopg.ClientCursor(conn).execute(load_sql("report/_clear.sql"), params)
        for group in FIGURE_GROUPS:
            figures = sql.SQL(load_sql(f"report/{group}.sql"))
            conn.execute(store.format(figures=figures), params)
        for derived in DERIVED:
            conn.execute(load_sql(f"report/{derived}.sql"), params)
    report = load(url, day)
    if report is None:
        raise BookingGuardError(f"the report of {day} was not stored")
    return report


def _require_history_table(conn: psycopg.Connection) -> None:
    row = conn.execute("SELECT to_regclass('bg_report_figures') IS NOT NULL").fetchone()
    if not row or not row[0]:
        raise BookingGuardError(
            "the report history table is missing: run `booking-guard migrate` first"
        )


def load(url: str, day: date) -> DailyReport | None:
    """The stored report of ``day`` with its trends; None when that day was never run."""
    with connect(url) as conn:
        _require_history_table(conn)
        rows = conn.execute(load_sql("report/day.sql"), {"day": day}).fetchall()
        if not rows:
            return None
        trend_rows = conn.execute(
            load_sql("report/trend.sql"),
            {"day": day, "days": TREND_DAYS, "figures": list(HEADLINE)},
        ).fetchall()
    figures: dict[int | None, dict[str, dict[str, Number]]] = defaultdict(lambda: defaultdict(dict))
    for company_id, figure, key, value, _, _ in rows:
        figures[company_id][figure][key] = _number(figure, value)
    trends: dict[str, list[tuple[date, Number]]] = defaultdict(list)
    for report_date, figure, value in trend_rows:
        trends[figure].append((report_date, _number(figure, value)))
    timezone, generated_at = rows[0][4], max(r[5] for r in rows)
    return DailyReport(
        period(day, timezone),
        generated_at,
        {c: dict(f) for c, f in figures.items()},
        dict(trends),
    )


def report_days(url: str, limit: int = 366) -> list[date]:
    """The days with a stored report, newest first."""
    with connect(url) as conn:
        _require_history_table(conn)
        rows = conn.execute(load_sql("report/days.sql"), {"limit": limit}).fetchall()
    return [d for d, _ in rows]


# --- output -------------------------------------------------------------------------------------


def _fmt(value: Number | None, *, signed: bool = False) -> str:
    """Counts with thousands separators; rates, hours and changes with two decimals."""
    if value is None:
        return "n/a"
    if signed:
        return f"{value:+,.2f}"
    return f"{value:,.2f}" if isinstance(value, float) else f"{value:,}"


def render_json(report: DailyReport) -> str:
    return json.dumps(report.to_dict(), indent=2)


def _md_table(header: Iterable[str], rows: Iterable[Iterable[object]]) -> str:
    head = list(header)
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def render_markdown(report: DailyReport) -> str:
    """The report as Markdown (for e-mail, a wiki, a ticket); trends as text sparklines."""
    v = report.value
    headline = _md_table(
        ("figure", "value", "day before"),
        [(label, _fmt(v(f)), _fmt(report.previous(f))) for f, label in HEADLINE.items()],
    )
    rules = _md_table(
        ("rule", "new", "resolved", "auto-corrected"),
        [
            (rule, n, v("alerts_resolved", rule), v("auto_corrected", rule))
            for rule, n in report.breakdown("alerts_new").items()
        ],
    )
    open_alert_table = _md_table(
        ("rule", "severity", "open"), [(r, s, n) for r, s, n in report.open_alerts()]
    )
    tenants = _md_table(
        ("company", *TENANT_COLUMNS.values()),
        [(c, *(_fmt(v(f, company=c)) for f in TENANT_COLUMNS)) for c in report.tenants],
    )
    trends = "\n".join(
        f"- {label}: `{sparkline([x for _, x in report.trends.get(f, [])])}`"
        f" ({len(report.trends.get(f, []))} days)"
        for f, label in HEADLINE.items()
    )
    return render(
        "report.md",
        **_common(report),
        headline=headline,
        rules=rules,
        open_alert_table=open_alert_table,
        tenants=tenants,
        trends=trends,
    )


def _common(report: DailyReport) -> dict[str, object]:
    p, v = report.period, report.value
    return {
        "day": p.day.isoformat(),
        "timezone": p.timezone,
        "start": p.start.astimezone(ZoneInfo(p.timezone)).isoformat(),
        "end": p.end.astimezone(ZoneInfo(p.timezone)).isoformat(),
        "hours": f"{p.hours:g}",
        "generated_at": report.generated_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "rate": _fmt(v("consistency_rate_pct")),
        "rate_change": _fmt(report.change("consistency_rate_pct"), signed=True),
        "calls": _fmt(v("calls")),
        "appointments": _fmt(v("appointments")),
        "inconsistent_calls": _fmt(v("inconsistent_calls")),
        "alerts_new": _fmt(v("alerts_new")),
        "alerts_resolved": _fmt(v("alerts_resolved")),
        "open_alerts": _fmt(v("open_alerts")),
        "auto_corrected": _fmt(v("auto_corrected")),
        "trigger_corrections": _fmt(v("trigger_corrections")),
        "monitor_corrections": _fmt(v("monitor_corrections")),
        "review_queued": _fmt(v("review_queued")),
        "review_resolved": _fmt(v("review_resolved")),
        "review_escalated": _fmt(v("review_escalated")),
        "review_open": _fmt(v("review_open")),
        "review_oldest": _fmt(v("review_oldest_open_hours")),
        "manual_share": _fmt(v("manual_share_pct")),
        "breaker_opened": _fmt(v("breaker_opened")),
        "breaker_closed": _fmt(v("breaker_closed")),
        "breaker_open_at_end": _fmt(v("breaker_open_at_end")),
    }


def render_html(report: DailyReport) -> str:
    """One self-contained page: inline CSS and server-rendered SVG charts, no URL to load."""
    v = report.value
    start = report.period.day - timedelta(days=TREND_DAYS - 1)
    trend_charts = "".join(
        trend_chart(figure, label, report.trends.get(figure, []), start, TREND_DAYS)
        for figure, label in HEADLINE.items()
    )
    rule_bars = bar_chart(
        "new-alerts",
        "New alerts per rule",
        [(rule, n, _colour(rule)) for rule, n in report.breakdown("alerts_new").items()],
    )
    open_bars = bar_chart(
        "open-alerts",
        "Open alerts at the end of the day, per rule and severity",
        [(f"{rule} ({sev})", n, SEVERITY_COLOURS[sev]) for rule, sev, n in report.open_alerts()],
    )
    correction_bars = bar_chart(
        "corrections",
        "Auto-corrections per alert type",
        [(rule, n, CORRECTED) for rule, n in report.breakdown("auto_corrected").items()],
    )
    tenant_rows = (
        "".join(
            "<tr><th scope=row>"
            + escape(str(c))
            + "</th>"
            + "".join(f"<td>{escape(_fmt(v(f, company=c)))}</td>" for f in TENANT_COLUMNS)
            + "</tr>"
            for c in report.tenants
        )
        or f"<tr><td colspan={len(TENANT_COLUMNS) + 1}>no activity</td></tr>"
    )
    breakers = (
        "".join(
            f"<tr><td>{escape(key)}</td><td>{_fmt(v('breaker_opened', key))}</td>"
            f"<td>{_fmt(v('breaker_closed', key))}</td></tr>"
            for key in sorted(
                set(report.breakdown("breaker_opened")) | set(report.breakdown("breaker_closed"))
            )
        )
        or "<tr><td colspan=3>no transitions</td></tr>"
    )
    return render(
        "report.html",
        **{k: escape(str(x)) for k, x in _common(report).items()},
        trend_charts=trend_charts,
        rule_bars=rule_bars,
        open_bars=open_bars,
        correction_bars=correction_bars,
        tenant_header="".join(f"<th>{escape(h)}</th>" for h in TENANT_COLUMNS.values()),
        tenant_rows=tenant_rows,
        breaker_rows=breakers,
    )


def _colour(rule: str) -> str:
    """A rule's bar in its severity's colour (alert types outside the registry in grey)."""
    known = RULES_BY_ID.get(rule)
    return SEVERITY_COLOURS[known.severity] if known else NEUTRAL


def render_index(days: list[date], base: str = "") -> str:
    """The list of stored reports (the plugin's past-reports page)."""
    items = (
        "".join(
            f'<li><a href="{base}{d.isoformat()}">{d.isoformat()}</a>'
            f' · <a href="{base}{d.isoformat()}.json">JSON</a>'
            f' · <a href="{base}{d.isoformat()}.md">Markdown</a></li>'
            for d in days
        )
        or "<li>no report yet: the DAG consistency_daily_report writes one at 02:00</li>"
    )
    return render("report_index.html", items=items)


def write_files(report: DailyReport, out_dir: Path) -> dict[str, Path]:
    """``report-<day>.json|md|html`` in ``out_dir``; a re-run overwrites its day's files."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BookingGuardError(f"cannot create the report folder {out_dir}: {exc}") from None
    stem = f"report-{report.period.day.isoformat()}"
    outputs = {
        "json": render_json(report),
        "md": render_markdown(report),
        "html": render_html(report),
    }
    written: dict[str, Path] = {}
    for suffix, text in outputs.items():
        path = out_dir / f"{stem}.{suffix}"
        path.write_text(text + "\n", encoding="utf-8")
        written[suffix] = path
    return written


# --- charts: inline SVG, drawn here so the page needs no script -----------------------------

SEVERITY_COLOURS = {
    Severity.CRITICAL: "#dc2626",
    Severity.WARNING: "#f59e0b",
    Severity.INFO: "#6b7280",
}
NEUTRAL = "#6b7280"
CORRECTED = "#16a34a"
TREND = "#2563eb"
SPARKS = "▁▂▃▄▅▆▇█"


def sparkline(values: list[Number]) -> str:
    """A text trend for Markdown and terminals."""
    if not values:
        return "no history"
    low, high = min(values), max(values)
    span = (high - low) or 1
    return "".join(SPARKS[round((x - low) / span * (len(SPARKS) - 1))] for x in values)


def trend_chart(
    figure: str, label: str, points: list[tuple[date, Number]], first: date, days: int
) -> str:
    """A line over ``days`` days from ``first``: one point per stored day, gaps stay gaps."""
    width, height, left, right, top, bottom = 300, 120, 44, 292, 12, 96
    values = [x for _, x in points]
    low = min([*values, 0]) if not figure.endswith("_pct") else min([*values, 100])
    high = max([*values, low + 1])
    low = min(low, high - 1)

    def xy(day: date, value: Number) -> tuple[float, float]:
        x = left + (right - left) * (day - first).days / max(days - 1, 1)
        y = bottom - (bottom - top) * (value - low) / (high - low)
        return round(x, 1), round(y, 1)

    coords = [xy(d, x) for d, x in points]
    line = " ".join(f"{x},{y}" for x, y in coords)
    area = (
        f'<polygon fill="#bfdbfe"'
        f' points="{coords[0][0]},{bottom} {line} {coords[-1][0]},{bottom}"/>'
        if len(coords) > 1
        else ""
    )
    dots = "".join(f'<circle cx="{x}" cy="{y}" r="2.5" fill="{TREND}"/>' for x, y in coords)
    last = (
        f"{values[-1]:,.2f}"
        if values and isinstance(values[-1], float)
        else (f"{values[-1]:,}" if values else "no data")
    )
    return (
        f'<figure class="chart trend" id="trend-{escape(figure)}"><figcaption>{escape(label)}'
        f" <b>{escape(last)}</b></figcaption>"
        f'<svg viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img"'
        f' aria-label="{escape(label)} over {days} days">'
        f'<rect x="{left}" y="{top}" width="{right - left}" height="{bottom - top}"'
        f' fill="#f8fafc" stroke="#cbd5e1"/>'
        f'<text x="{left - 4}" y="{top + 4}" text-anchor="end">{high:,.4g}</text>'
        f'<text x="{left - 4}" y="{bottom}" text-anchor="end">{low:,.4g}</text>'
        f'<text x="{left}" y="{height - 8}">{first:%d %b}</text>'
        f'<text x="{right}" y="{height - 8}" text-anchor="end">'
        f"{first + timedelta(days=days - 1):%d %b}</text>"
        f'{area}<polyline fill="none" stroke="{TREND}" stroke-width="2" points="{line}"/>{dots}'
        "</svg></figure>"
    )


def bar_chart(chart_id: str, title: str, bars: list[tuple[str, Number, str]]) -> str:
    """Horizontal bars, one per label, scaled to the largest value."""
    row, label_width, bar_width = 22, 260, 300
    height = row * max(len(bars), 1) + 8
    largest = max([b[1] for b in bars] + [1])
    rows = (
        "".join(
            f'<text x="{label_width - 6}" y="{i * row + 16}" text-anchor="end">'
            f"{escape(name)}</text>"
            f'<rect x="{label_width}" y="{i * row + 4}" height="{row - 6}"'
            f' width="{max(2.0, round(bar_width * value / largest, 1))}" fill="{colour}"/>'
            f'<text x="{label_width + round(bar_width * value / largest, 1) + 6}"'
            f' y="{i * row + 16}">{value:,}</text>'
            for i, (name, value, colour) in enumerate(bars)
        )
        or f'<text x="{label_width}" y="16">none</text>'
    )
    return (
        f'<figure class="chart bars" id="{escape(chart_id)}"><figcaption>{escape(title)}'
        f'</figcaption><svg viewBox="0 0 {label_width + bar_width + 60} {height}"'
        f' width="{label_width + bar_width + 60}" height="{height}" role="img"'
        f' aria-label="{escape(title)}">{rows}</svg></figure>'
    )


# --- Slack summary ------------------------------------------------------------------------------


def page_url(settings: Settings, day: date) -> str:
    """The day's page in the Airflow plugin, from ``BOOKING_GUARD_REPORT_BASE_URL``."""
    if not settings.report_base_url:
        return ""
    return f"{settings.report_base_url}/booking-guard/reports/{day.isoformat()}"


def summary_text(report: DailyReport, link: str) -> str:
    """Headline rate, change against the day before, the three worst rules, the link."""
    worst = ", ".join(f"{rule} ({n:,})" for rule, n in report.worst_rules()) or "none"
    change = report.change("consistency_rate_pct")
    return mask(
        render(
            "report_slack.txt",
            **_common(report),
            change="no earlier day" if change is None else f"{change:+.2f} pt vs the day before",
            worst=worst,
            link=f" <{link}|Full report>" if link else "",
        )
    )


@dataclass
class SummaryDelivery:
    """What became of the day's Slack summary."""

    sent: list[str] = field(default_factory=list)
    unavailable: list[str] = field(default_factory=list)
    throttled: bool = False


def send_summary(settings: Settings, report: DailyReport) -> SummaryDelivery:
    """Send the summary to every enabled channel, at most once per day and cooldown (the
    notifications' throttle, key ``report:<day>``). A send that fails gives the slot back and
    raises, so the task's retry sends it."""
    delivery = SummaryDelivery()
    ready = []
    for channel in enabled_channels(settings):
        problem = channel.problem()
        if problem:
            delivery.unavailable.append(problem)
        else:
            ready.append(channel)
    if not ready:
        return delivery
    key = f"report:{report.period.day.isoformat()}"
    subject = f"booking-guard daily report {report.period.day.isoformat()}"
    text = summary_text(report, page_url(settings, report.period.day))
    with connect(settings.database_url, autocommit=True) as conn:
        throttle = Throttle(settings, conn)
        if not throttle.claim(key):
            delivery.throttled = True
            return delivery
        try:
            for channel in ready:
                channel.send(subject, text)
                delivery.sent.append(channel.name)
        except Exception as exc:
            if not delivery.sent:
                throttle.release(key)
            raise BookingGuardError(f"daily report summary not sent: {exc}") from None
    return delivery


# --- the daily run ------------------------------------------------------------------------------


@dataclass
class DailyRun:
    report: DailyReport
    files: dict[str, Path]
    summary: SummaryDelivery | None


def run_daily(
    settings: Settings,
    *,
    day: date | None = None,
    out_dir: Path | None = None,
    notify: bool = False,
    now: datetime | None = None,
) -> DailyRun:
    """Compute and store a day (the previous local day by default), write its files, and with
    ``notify`` send the Slack summary: what the CLI runs, and the DAG in three steps."""
    day = day or previous_day(now or datetime.now(UTC), settings.timezone)
    report = compute(settings.database_url, day, settings.timezone)
    files = write_files(report, out_dir or settings.report_dir)
    summary = send_summary(settings, report) if notify else None
    return DailyRun(report, files, summary)
