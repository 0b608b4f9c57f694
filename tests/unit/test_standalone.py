"""The one-machine launcher's configuration: loopback only, laptop-sized, connections visible."""

from __future__ import annotations

import json
from pathlib import Path

from booking_guard.airflow import standalone

LAYOUT = standalone.Layout(home=Path("/srv/bg/var/airflow"), project=Path("/srv/bg"), port=18080)
DB = "postgresql://postgres@127.0.0.1:5432/booking_guard"


def test_everything_binds_to_loopback_and_the_execution_api_follows_the_port() -> None:
    env = standalone.airflow_env(LAYOUT, {}, DB)
    assert env["AIRFLOW__API__HOST"] == "127.0.0.1"
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://127.0.0.1:18080/execution/"
    assert env["AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK"] == "False"
    commands = standalone.components(LAYOUT)
    assert commands["api-server"][1:] == ["--host", "127.0.0.1", "--port", "18080"]
    # Log servers bind every interface: they are not started.
    assert "--skip-serve-logs" in commands["scheduler"]
    assert "--skip-serve-logs" in commands["triggerer"]
    assert set(commands) == {"api-server", "scheduler", "dag-processor", "triggerer"}


def test_laptop_defaults_yield_to_the_environment_but_locations_do_not() -> None:
    env = standalone.airflow_env(LAYOUT, {}, DB)
    assert env["AIRFLOW__CORE__PARALLELISM"] == "2"
    assert env["AIRFLOW__CORE__DAGS_FOLDER"] == "/srv/bg/dags"
    assert env["AIRFLOW_HOME"] == "/srv/bg/var/airflow"
    chosen = standalone.airflow_env(
        LAYOUT, {"AIRFLOW__CORE__PARALLELISM": "8", "AIRFLOW__API__HOST": "0.0.0.0"}, DB
    )
    assert chosen["AIRFLOW__CORE__PARALLELISM"] == "8"
    assert chosen["AIRFLOW__API__HOST"] == "127.0.0.1"


def test_connections_from_the_environment_and_the_monitored_database() -> None:
    slack = {"conn_type": "slackwebhook", "password": "https://hooks.slack.invalid/T/B/x"}
    env = standalone.airflow_env(
        LAYOUT,
        {
            "AIRFLOW_CONN_SLACK_CONSISTENCY": json.dumps(slack),
            "AIRFLOW_CONN_SMTP_DEFAULT": "smtp://mailer:secret@mail.invalid:587",
        },
        DB,
    )
    assert standalone.connections(env) == {
        "slack_consistency": slack,
        "smtp_default": "smtp://mailer:secret@mail.invalid:587",
        "booking_guard_db": DB,
    }
    own = standalone.airflow_env(LAYOUT, {"AIRFLOW_CONN_BOOKING_GUARD_DB": "postgres://x@h/db"}, DB)
    assert standalone.connections(own)["booking_guard_db"] == "postgres://x@h/db"


def test_the_admin_password_is_made_once(tmp_path: Path) -> None:
    layout = standalone.Layout(home=tmp_path, project=tmp_path)
    password = standalone.admin_password(layout)
    assert password and json.loads(layout.passwords_file.read_text()) == {"admin": password}
    assert layout.passwords_file.stat().st_mode & 0o077 == 0
    assert standalone.admin_password(layout) is None


def test_env_file_values(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    path.write_text("# comment\nBOOKING_GUARD_FULL_SCAN_AT='02:00'\nEMPTY=\n")
    assert standalone.read_env_file(path) == {"BOOKING_GUARD_FULL_SCAN_AT": "02:00", "EMPTY": ""}
    assert standalone.read_env_file(tmp_path / "missing") == {}
