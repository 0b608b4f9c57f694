"""The booking-guard Airflow plugin: one FastAPI app on the API server, one router per concern.

Mounted at ``/booking-guard``; ``breakers`` shows the state of every circuit breaker (a page, a
read-only JSON endpoint, Prometheus metrics) and has a navigation entry in the Airflow UI. Other
routers (reports, Data Docs) join the same app. Airflow does not authenticate plugin apps itself:
every route here requires an Airflow user (the JWT of the UI's cookie or a Bearer token), checked
by Airflow's own ``get_user``. Nothing heavy is imported at module level: Airflow loads plugins in
every process, and the breaker, Airflow's API security and the database are reached only when a
request arrives.
"""

from __future__ import annotations

import html
from functools import cache
from typing import TYPE_CHECKING, Any

from airflow.plugins_manager import AirflowPlugin
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, PlainTextResponse

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


def create_app() -> FastAPI:
    app = FastAPI(
        title="booking-guard",
        description="booking-guard inside Airflow: circuit breakers (reports join here)",
        dependencies=[Depends(airflow_user)],
    )
    app.include_router(breakers)
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
        }
    ]
