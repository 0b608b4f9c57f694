"""The booking-guard Airflow plugin: one FastAPI app on the API server, one router per concern.

Mounted at ``/booking-guard``; ``breakers`` shows the state of every circuit breaker (a page, a
read-only JSON endpoint, Prometheus metrics), ``reports`` the latest and past daily reports (HTML,
JSON, Markdown, rendered from the report history in the monitored database) and ``data_docs`` the
Great Expectations Data Docs (files under ``BOOKING_GUARD_GX_DIR/data_docs``, with their locally
served styles and scripts); each has a navigation entry in the Airflow UI. Airflow does not
authenticate plugin apps itself: every route here requires an Airflow user (the JWT of the UI's
cookie or a Bearer token), checked by Airflow's own ``get_user``. Nothing heavy is imported at
module level: Airflow loads plugins in every process, and the breaker, booking_guard, Airflow's
API security and the database are reached only when a request arrives.
"""

from __future__ import annotations

import html
from datetime import date
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow.plugins_manager import AirflowPlugin
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import (
    FileResponse,
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
)

if TYPE_CHECKING:
    from booking_circuit_breaker import CircuitBreaker

URL_PREFIX = "/booking-guard"


async def airflow_user(request: Request) -> None:
    """Reject anonymous callers with Airflow's own authentication (401/403 as the core API)."""
    from airflow.api_fastapi.core_api.security import bearer_scheme, get_user

    await get_user(request, None, await bearer_scheme(request))


@cache
def _breaker() -> CircuitBreaker:
    from booking_circuit_breaker import CircuitBreaker

    return CircuitBreaker()


breakers = APIRouter(prefix="/breakers", tags=["circuit breakers"])


@breakers.get("/state")
async def breaker_state() -> dict[str, Any]:
    """Every circuit's state and counters (read-only)."""
    breaker = _breaker()
    circuits = await run_in_threadpool(breaker.overview)
    return {"shared_state_up": breaker.shared_state_up, "circuits": circuits}


@breakers.get("/metrics", response_class=PlainTextResponse)
async def breaker_metrics() -> PlainTextResponse:
    """Prometheus text format: state per circuit, calls by outcome, rejections, transitions."""
    text = await run_in_threadpool(_breaker().prometheus)
    return PlainTextResponse(text, media_type="text/plain; version=0.0.4")


@breakers.get("/", response_class=HTMLResponse)
async def breaker_page() -> HTMLResponse:
    """The page behind the navigation entry: one row per circuit, refreshed every 10 s."""
    breaker = _breaker()
    circuits = await run_in_threadpool(breaker.overview)
    rows = "".join(
        "<tr>"
        + "".join(
            f"<td>{html.escape(str(c[k]) if c[k] is not None else '')}</td>"
            for k in ("circuit_key", "state", "failure_count", "success_count", "opened_at")
        )
        + f"<td>{c['counters'].get('n_rejected', '')}</td></tr>"
        for c in circuits
    )
    banner = (
        ""
        if breaker.shared_state_up
        else "<p class=warn>Redis unreachable: showing the state stored in PostgreSQL.</p>"
    )
    return HTMLResponse(
        PAGE.format(rows=rows or "<tr><td colspan=6>no circuits yet</td></tr>", banner=banner)
    )


PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><meta http-equiv="refresh" content="10">
<title>Circuit breakers</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 1.5rem; }}
table {{ border-collapse: collapse; }}
td, th {{ padding: .3rem .8rem; border-bottom: 1px solid #ddd; }}
.warn {{ color: #b45309; }}
</style></head>
<body><h1>Circuit breakers</h1>{banner}
<table><tr><th>circuit</th><th>state</th><th>failures</th><th>successes</th><th>opened at</th>
<th>rejected</th></tr>{rows}</table>
<p><a href="state">JSON</a> · <a href="metrics">Prometheus metrics</a></p>
</body></html>
"""


reports = APIRouter(prefix="/reports", tags=["daily reports"])


def _database_url() -> str:
    from booking_guard.settings import Settings

    return Settings.from_env().database_url


@reports.get("/", response_class=HTMLResponse)
async def report_index() -> HTMLResponse:
    """Every stored day, newest first."""
    from booking_guard import report

    days = await run_in_threadpool(report.report_days, _database_url())
    return HTMLResponse(report.render_index(days))


@reports.get("/latest")
async def latest_report() -> Response:
    """The newest stored day (what the navigation entry opens)."""
    from booking_guard import report

    days = await run_in_threadpool(report.report_days, _database_url(), 1)
    if not days:
        return HTMLResponse(report.render_index([]), status_code=404)
    return RedirectResponse(days[0].isoformat(), status_code=307)


@reports.get("/{name}")
async def daily_report(name: str) -> Response:
    """One day: ``YYYY-MM-DD`` (the page), ``….json`` or ``….md``."""
    from booking_guard import report

    stem, _, kind = name.partition(".")
    try:
        day = date.fromisoformat(stem)
    except ValueError:
        raise HTTPException(404, "not a day (YYYY-MM-DD)") from None
    if kind not in ("", "json", "md"):
        raise HTTPException(404, "a report is .json, .md or the page")
    stored = await run_in_threadpool(report.load, _database_url(), day)
    if stored is None:
        raise HTTPException(404, f"no report for {day}")
    if kind == "json":
        return JSONResponse(stored.to_dict())
    if kind == "md":
        return PlainTextResponse(report.render_markdown(stored), media_type="text/markdown")
    return HTMLResponse(report.render_html(stored))


data_docs = APIRouter(prefix="/data-docs", tags=["data docs"])


def _data_docs_file(relative: str) -> Path:
    """A file inside the Data Docs folder; nothing outside it (no ``..``, no symlink out)."""
    from booking_guard.expectations import runtime_dir

    root = (runtime_dir() / "data_docs").resolve()
    target = (root / relative).resolve()
    if not target.is_relative_to(root) or not target.is_file():
        raise HTTPException(404, "no such Data Docs page")
    return target


@data_docs.get("/")
async def data_docs_home() -> RedirectResponse:
    return RedirectResponse("index.html", status_code=307)


@data_docs.get("/{relative:path}")
async def data_docs_file(relative: str) -> FileResponse:
    """A page, style sheet, script or font of the Data Docs site."""
    return FileResponse(_data_docs_file(relative))


def create_app() -> FastAPI:
    app = FastAPI(
        title="booking-guard",
        description="booking-guard inside Airflow: circuit breakers, daily reports, Data Docs",
        dependencies=[Depends(airflow_user)],
    )
    app.include_router(breakers)
    app.include_router(reports)
    app.include_router(data_docs)
    return app


class BookingGuardPlugin(AirflowPlugin):
    name = "booking_guard"
    # AirflowPlugin declares these as instance attributes: a ClassVar here is a type error.
    fastapi_apps = [  # noqa: RUF012
        {"app": create_app(), "url_prefix": URL_PREFIX, "name": "booking-guard"}
    ]
    external_views = [  # noqa: RUF012
        {
            "name": "Circuit breakers",
            "href": "booking-guard/breakers/",
            "destination": "nav",
            "category": "browse",
            "url_route": "circuit-breakers",
        },
        {
            "name": "Daily report",
            "href": "booking-guard/reports/latest",
            "destination": "nav",
            "category": "browse",
            "url_route": "daily-report",
        },
        {
            "name": "Data Docs",
            "href": "booking-guard/data-docs/index.html",
            "destination": "nav",
            "category": "browse",
            "url_route": "data-docs",
        },
    ]
