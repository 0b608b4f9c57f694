"""Fixtures: every test database is created here and dropped here; no other database is touched."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from booking_guard import reference_schema
from booking_guard.db import drop_database

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


def query(url: str, sql: str, params: tuple = ()) -> list[tuple]:
    """Run one statement in its own committed transaction; its rows, if it returns any."""
    with psycopg.connect(url) as conn:
        cursor = conn.execute(sql, params)
        return cursor.fetchall() if cursor.description else []
