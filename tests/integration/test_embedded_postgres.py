"""The embedded PostgreSQL (pgserver's wheel): the demo's database on a machine without one."""

from __future__ import annotations

from pathlib import Path

import pytest

from booking_guard import embedded_postgres, migrations, reference_schema
from booking_guard.db import create_database
from tests.helpers import query

NOTHING_LISTENS = ("127.0.0.1", 1)


def test_a_set_url_wins_and_starts_nothing(tmp_path: Path) -> None:
    url = "postgresql://someone@db.example:5432/app"
    database = embedded_postgres.resolve(
        tmp_path / "pg", env={"BOOKING_GUARD_DATABASE_URL": url}, local_server=NOTHING_LISTENS
    )
    assert database == embedded_postgres.Database(url)
    assert not (tmp_path / "pg").exists()


@pytest.mark.slow
def test_without_a_server_the_embedded_one_runs_the_schema_and_stops(tmp_path: Path) -> None:
    data_dir = tmp_path / "var" / "postgres"
    try:
        first = embedded_postgres.resolve(data_dir, env={}, local_server=NOTHING_LISTENS)
        assert first.embedded and first.started
        assert first.url.startswith("postgresql://postgres@127.0.0.1:")
        # Loopback only: postmaster.pid's sixth line is the listen address.
        assert (data_dir / "postmaster.pid").read_text().splitlines()[5] == "127.0.0.1"

        assert create_database(first.url)
        reference_schema.install(first.url)
        migrations.upgrade(first.url)
        assert query(first.url, "SELECT count(*) FROM calls") == [(0,)]

        again = embedded_postgres.resolve(data_dir, env={}, local_server=NOTHING_LISTENS)
        assert again.url == first.url and not again.started
    finally:
        stopped = embedded_postgres.stop(data_dir)
    assert stopped
    assert embedded_postgres.stop(data_dir) is False
