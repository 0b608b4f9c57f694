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
import uuid
from collections.abc import Iterator
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
from booking_guard.seed import Truth, read_truth, seed  # noqa: E402
from tests.helpers import ROLE_GROUPS, SPEC, RedisServer, SlackStandIn  # noqa: E402

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


@pytest.fixture
def migrated_db(app_db: str) -> str:
    migrations.upgrade(app_db)
    return app_db


@pytest.fixture
def logins(migrated_db: str) -> Iterator[dict[str, str]]:
    """One LOGIN user per group role, member of ``booking_guard_<group>``: URLs by group.

    What production runs as (the booking app, the monitor, the corrector), not the superuser.
    """
    suffix = uuid.uuid4().hex[:8]
    names = {group: f"bg_test_{group}_{suffix}" for group in ROLE_GROUPS}
    with psycopg.connect(SERVER_URL + "/postgres", autocommit=True) as conn:
        for group, name in names.items():
            conn.execute(f'CREATE ROLE "{name}" LOGIN IN ROLE "booking_guard_{group}"')
    parts = urlsplit(migrated_db)
    try:
        yield {
            group: urlunsplit(parts._replace(netloc=f"{name}@{parts.hostname}:{parts.port}"))
            for group, name in names.items()
        }
    finally:
        with psycopg.connect(SERVER_URL + "/postgres", autocommit=True) as conn:
            for name in names.values():
                conn.execute(f'DROP ROLE IF EXISTS "{name}"')


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


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    """A redis-server of the test's own (free port), so that it can be stopped and restarted."""
    server = RedisServer()
    yield server
    server.stop()
