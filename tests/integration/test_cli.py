"""The CLI as a user meets it: real processes, real database, one line per failure."""

from __future__ import annotations

import re
import subprocess

import pytest

from booking_guard import migrations
from tests.helpers import cli as run
from tests.helpers import query


def assert_one_line_error(result: subprocess.CompletedProcess, *fragments: str) -> None:
    assert result.returncode == 3, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert re.match(r"booking-guard( [a-z-]+)?: error: ", lines[0]), lines[0]
    for fragment in fragments:
        assert fragment in lines[0]


def test_app_schema_migrate_status_and_down(empty_db: str) -> None:
    assert run("app-schema", url=empty_db).returncode == 0
    status = run("migrate", "--status", url=empty_db)
    assert "current: base" in status.stdout and "pending: 0001" in status.stdout

    migrate = run("migrate", url=empty_db)
    head = migrations.status(empty_db).head
    assert migrate.returncode == 0 and f"applied up {head}" in migrate.stdout
    again = run("migrate", url=empty_db)
    assert again.returncode == 0 and "nothing to do" in again.stdout
    assert "up to date" in run("migrate", "--status", url=empty_db).stdout

    sql = run("migrate", "--down", "base", "--sql", url=empty_db)
    assert "DROP TABLE IF EXISTS manual_review_queue" in sql.stdout
    assert query(empty_db, "SELECT to_regclass('manual_review_queue')") != [(None,)]

    down = run("migrate", "--down", "base", url=empty_db)
    assert down.returncode == 0, down.stderr
    assert query(empty_db, "SELECT to_regclass('manual_review_queue')") == [(None,)]


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (("--database-url", "postgresql://postgres@127.0.0.1:1/x", "migrate"), ("cannot connect",)),
        (
            ("--database-url", "mysql://root@127.0.0.1/x", "migrate"),
            ("BOOKING_GUARD_DATABASE_URL",),
        ),
        (
            ("--database-url", "postgresql://postgres@127.0.0.1:1/x", "app-schema"),
            ("cannot connect",),
        ),
        (("seed", "--calls", "-5"), ("--calls must be 0 or more",)),
        (("seed", "--calls", "many"), ("invalid int value",)),
        (("seed", "--calls", "10", "--anchor", "yesterday"), ("ISO-8601",)),
        (("migrate", "--frobnicate"), ("unrecognized arguments",)),
        (("migrate", "--to", ""), ("migration target is empty",)),
    ],
)
def test_bad_input_is_one_clear_line(args: tuple[str, ...], fragments: tuple[str, ...]) -> None:
    assert_one_line_error(run(*args), *fragments)


def test_migrate_without_app_tables_and_unknown_target(empty_db: str) -> None:
    assert_one_line_error(run("migrate", url=empty_db), "missing table appointments")
    assert_one_line_error(run("migrate", "--to", "42", url=empty_db), "unknown migration target")
    assert_one_line_error(run("migrate", "--down", "nope", url=empty_db), "'nope'")
    assert_one_line_error(run("seed", "--calls", "5", url=empty_db), "app-schema")


def test_settings_and_targets_that_make_no_sense_are_one_line(migrated_db: str) -> None:
    workers = run("check", "--full", url=migrated_db, env={"BOOKING_GUARD_RULE_WORKERS": "abc"})
    assert_one_line_error(workers, "BOOKING_GUARD_RULE_WORKERS must be a whole number")
    cooldown = run(
        "check", url=migrated_db, env={"DATA_CONSISTENCY_ALERT_COOLDOWN_SECONDS": "9" * 20}
    )
    assert_one_line_error(cooldown, "DATA_CONSISTENCY_ALERT_COOLDOWN_SECONDS must be between")
    below = run("migrate", "--to", "0002", url=migrated_db)
    assert_one_line_error(below, "above 0002", "--down 0002")


def test_a_closed_pipe_ends_quietly(migrated_db: str) -> None:
    """`booking-guard … | head`: the reader is gone before the output is written."""
    import os
    import subprocess
    import sys

    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        writer = subprocess.run(
            [sys.executable, "-m", "booking_guard", "--database-url", migrated_db, "status"],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
        )
    finally:
        os.close(write_end)
    assert writer.returncode == 0
    assert writer.stderr == ""
