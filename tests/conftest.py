"""Fixtures: every test database is created here and dropped here; no other database is touched.

Airflow runs against a throw-away home (SQLite metadata) made for the session, before anything
imports it.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import tempfile
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

REPO = Path(__file__).resolve().parents[1]
_AIRFLOW_HOME = tempfile.mkdtemp(prefix="bg_airflow_")
atexit.register(shutil.rmtree, _AIRFLOW_HOME, ignore_errors=True)
os.environ.update(
    {
        "AIRFLOW_HOME": _AIRFLOW_HOME,
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    }
)

import psycopg  # noqa: E402
import pytest  # noqa: E402

from booking_guard import migrations, reference_schema  # noqa: E402
from booking_guard.db import drop_database  # noqa: E402
from booking_guard.seed import SeedSpec, Truth, read_truth, seed  # noqa: E402

SERVER_URL = os.environ.get("BOOKING_GUARD_TEST_SERVER_URL", "postgresql://postgres@127.0.0.1:5432")


def _fresh_database_url() -> str:
    name = f"bg_test_{uuid.uuid4().hex[:12]}"
    parts = urlsplit(SERVER_URL)
    with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return urlunsplit(parts._replace(path=f"/{name}"))


@pytest.fixture
def empty_db() -> Iterator[str]:
    """A new, empty database, dropped after the test."""
    url = _fresh_database_url()
    try:
        yield url
    finally:
        drop_database(url)


@pytest.fixture
def app_db(empty_db: str) -> str:
    """A new database holding the reference app schema and nothing else."""
    reference_schema.install(empty_db)
    return empty_db


def query(url: str, sql: str, params: tuple = (), *, triggers: bool = True) -> list[tuple]:
    """Run one statement in its own committed transaction; its rows, if it returns any.

    ``triggers=False`` writes as a bulk import does (``session_replication_role = replica``):
    the way defects get past the database triggers for the monitor to find.
    """
    with psycopg.connect(url) as conn:
        if not triggers:
            conn.execute("SET LOCAL session_replication_role = replica")
        cursor = conn.execute(sql, params)
        return cursor.fetchall() if cursor.description else []


def plant(url: str, sql: str, params: tuple = ()) -> list[tuple]:
    """Write defective rows past the triggers, as an import with triggers off would."""
    return query(url, sql, params, triggers=False)


ANCHOR = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
SPEC = SeedSpec(calls=20_000, companies=3, days=10, defect_rate=0.1, random_seed=7, anchor=ANCHOR)


@pytest.fixture
def migrated_db(app_db: str) -> str:
    migrations.upgrade(app_db)
    return app_db


@pytest.fixture
def seeded(migrated_db: str, tmp_path: Path) -> tuple[str, set[Truth]]:
    """A migrated database seeded with every defect family, and the ground truth."""
    truth_path = tmp_path / "truth.jsonl"
    seed(migrated_db, SPEC, truth_path)
    return migrated_db, read_truth(truth_path)


@pytest.fixture(autouse=True)
def _gx_runtime(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """GX results and Data Docs of a test go to its own folder."""
    monkeypatch.setenv("BOOKING_GUARD_GX_DIR", str(tmp_path / "gx"))


class SlackStandIn:
    """A real HTTP server on 127.0.0.1 that records what a Slack incoming webhook receives."""

    def __init__(self) -> None:
        self.received: list[dict] = []
        self.status = 200
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                stand_in.received.append(json.loads(body))
                self.send_response(stand_in.status)
                self.end_headers()
                self.wfile.write(b"ok" if stand_in.status == 200 else b"server_error")

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/services/T0/B0/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def texts(self) -> list[str]:
        return [m.get("text", "") for m in self.received]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def slack(monkeypatch: pytest.MonkeyPatch) -> Iterator[SlackStandIn]:
    """Slack replaced by a local server, as the Airflow connection ``slack_consistency``."""
    stand_in = SlackStandIn()
    monkeypatch.setenv(
        "AIRFLOW_CONN_SLACK_CONSISTENCY",
        json.dumps({"conn_type": "slackwebhook", "password": stand_in.url}),
    )
    yield stand_in
    stand_in.close()
