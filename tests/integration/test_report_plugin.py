"""The plugin's report and Data Docs pages through a real Airflow api-server, behind its login.

The server is started here on 127.0.0.1 (its own process group) and stopped by its pid; the user
logs in with Airflow's simple auth manager and uses the token as Bearer header or UI cookie.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import httpx
import pytest

from booking_guard import report
from tests.helpers import plant

AIRFLOW = os.path.join(os.path.dirname(sys.executable), "airflow")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def api_server(migrated_db: str, tmp_path: Path) -> Iterator[tuple[httpx.Client, str]]:
    """``airflow api-server`` with the plugin; a client and a logged-in user's token."""
    password = secrets.token_urlsafe(12)
    passwords = tmp_path / "passwords.json"
    passwords.write_text(json.dumps({"analyst": password}))
    env = {
        **os.environ,
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "analyst:viewer",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(32),
        "BOOKING_GUARD_DATABASE_URL": migrated_db,
    }
    subprocess.run([AIRFLOW, "db", "migrate"], check=True, capture_output=True, env=env)
    port = free_port()
    log = (tmp_path / "api-server.log").open("w")
    server = subprocess.Popen(
        [AIRFLOW, "api-server", "--apps", "core", "-H", "127.0.0.1", "-p", str(port), "-w", "1"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its workers share its process group, stopped with it
    )
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if client.get("/api/v2/monitor/health").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert server.poll() is None, (tmp_path / "api-server.log").read_text()[-2000:]
            assert time.monotonic() < deadline, "api-server did not start"
            time.sleep(0.5)
        login = client.post("/auth/token", json={"username": "analyst", "password": password})
        assert login.status_code == 201, login.text
        yield client, login.json()["access_token"]
    finally:
        client.close()
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(10)
        log.close()


@pytest.mark.slow
def test_reports_and_data_docs_answer_airflow_users_only(
    api_server, migrated_db: str, tmp_path: Path
) -> None:
    client, token = api_server
    plant(migrated_db, "INSERT INTO companies (id, name) VALUES (1, 'one')")
    plant(
        migrated_db,
        "INSERT INTO calls (id, company_id, direction, created_at, updated_at)"
        " VALUES (1, 1, 'inbound', '2026-11-02 08:00+00', '2026-11-02 08:00+00')",
    )
    for day in (date(2026, 11, 1), date(2026, 11, 2)):
        report.compute(migrated_db, day, "UTC")
    site = Path(os.environ["BOOKING_GUARD_GX_DIR"]) / "data_docs"
    (site / "vendor" / "css").mkdir(parents=True)
    (site / "index.html").write_text("<html>data docs index</html>")
    (site / "vendor" / "css" / "bootstrap.min.css").write_text("body{}")
    (site.parent / "secret.txt").write_text("outside the site")

    pages = (
        "/booking-guard/reports/",
        "/booking-guard/reports/latest",
        "/booking-guard/reports/2026-11-02",
        "/booking-guard/data-docs/index.html",
    )
    for path in pages:
        assert client.get(path).status_code == 401, path
        assert client.get(path, headers={"Authorization": "Bearer forged"}).status_code == 403

    bearer = {"Authorization": f"Bearer {token}"}
    index = client.get("/booking-guard/reports/", headers=bearer)
    assert index.status_code == 200
    assert index.text.index("2026-11-02") < index.text.index("2026-11-01")
    latest = client.get("/booking-guard/reports/latest", headers=bearer)
    assert latest.status_code == 307
    assert latest.headers["location"].endswith("2026-11-02")
    cookie = {"Cookie": f"_token={token}"}  # how the Airflow UI's browser session sends it
    page = client.get("/booking-guard/reports/2026-11-02", headers=cookie)
    assert page.status_code == 200 and "Daily consistency report: 2026-11-02" in page.text
    assert "<svg" in page.text
    data = client.get("/booking-guard/reports/2026-11-02.json", headers=bearer).json()
    assert data["summary"]["total_calls"] == 1
    markdown = client.get("/booking-guard/reports/2026-11-02.md", headers=bearer)
    assert markdown.text.startswith("# Daily consistency report: 2026-11-02")
    assert client.get("/booking-guard/reports/2026-10-01", headers=bearer).status_code == 404
    assert client.get("/booking-guard/reports/nonsense", headers=bearer).status_code == 404

    docs = client.get("/booking-guard/data-docs/index.html", headers=cookie)
    assert docs.status_code == 200 and "data docs index" in docs.text
    css = client.get("/booking-guard/data-docs/vendor/css/bootstrap.min.css", headers=cookie)
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    for escape in ("%2e%2e/secret.txt", "..%2fsecret.txt", "vendor/%2e%2e/%2e%2e/secret.txt"):
        outside = client.get(f"/booking-guard/data-docs/{escape}", headers=cookie)
        assert outside.status_code == 404 and "outside" not in outside.text, escape

    plugins = client.get("/api/v2/plugins", headers=bearer).json()["plugins"]
    (plugin,) = [p for p in plugins if p["name"] == "booking_guard"]
    views = {v["name"]: v["href"] for v in plugin["external_views"]}
    assert views["Daily report"] == "booking-guard/reports/latest"
    assert views["Data Docs"] == "booking-guard/data-docs/index.html"
