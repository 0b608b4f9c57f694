"""The monitor under the real scheduler, as ``make airflow`` runs it (not ``dag.test()``).

The launcher starts api-server, scheduler, dag-processor and triggerer on 127.0.0.1 (a free port)
with a throw-away AIRFLOW_HOME; ``consistency_monitor`` runs on its schedule (shortened to every
minute) over a seeded database, then once more through the REST API without a logical date (no
data interval, as the UI's and the API's triggers make), and everything stops by pid.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import httpx
import psutil
import pytest

from booking_guard.rules import RULES_BY_ID
from tests.helpers import REPO, SlackStandIn, plant, query

DAG = "consistency_monitor"
RUN_TIMEOUT = 300


@dataclass
class Airflow:
    url: str
    home: Path
    launcher: subprocess.Popen[str]
    token: str = ""

    def api(self, method: str, path: str, body: dict | None = None) -> dict:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        response = httpx.request(
            method, f"{self.url}{path}", json=body, headers=headers, timeout=30
        )
        response.raise_for_status()
        return response.json()

    def runs(self) -> list[dict]:
        return self.api("GET", f"/api/v2/dags/{DAG}/dagRuns?limit=100")["dag_runs"]

    def wait_for(self, pick, what: str) -> dict:
        """Until a run chosen by ``pick`` has finished; a failed launcher fails the test."""
        deadline = time.monotonic() + RUN_TIMEOUT
        while time.monotonic() < deadline:
            assert self.launcher.poll() is None, _output(self.home)
            done = [r for r in self.runs() if pick(r) and r["state"] in ("success", "failed")]
            if done:
                return done[0]
            time.sleep(3)
        raise AssertionError(f"no {what} finished in {RUN_TIMEOUT} s: {self.runs()}")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _output(home: Path) -> str:
    return (home / "launcher.out").read_text()


@pytest.fixture
def airflow(seeded, slack: SlackStandIn, tmp_path: Path) -> Iterator[Airflow]:
    """The launcher in its own process; afterwards every process it started is gone."""
    url, _ = seeded
    home, port = tmp_path / "airflow", _free_port()
    home.mkdir()
    env = {
        **os.environ,
        "BOOKING_GUARD_DATABASE_URL": url,
        "BOOKING_GUARD_MONITOR_SCHEDULE": "* * * * *",
        "BOOKING_GUARD_FULL_SCAN_AT": "",  # scheduled runs stay incremental
        "BOOKING_GUARD_GX_DIR": str(tmp_path / "gx"),
        # The seeded defects come in one batch, above the production blast-radius limit.
        "BOOKING_GUARD_MAX_CORRECTIONS": "100000",
    }
    command = [sys.executable, "-m", "booking_guard.airflow.standalone", "--project", str(REPO)]
    command += ["--home", str(home), "--port", str(port), "--env-file", str(tmp_path / "none")]
    with (home / "launcher.out").open("w") as out:
        launcher = subprocess.Popen(
            command, env=env, stdout=out, stderr=subprocess.STDOUT, text=True
        )
    family: list[psutil.Process] = []
    try:
        deadline = time.monotonic() + 240
        while "Airflow UI:" not in _output(home):
            assert launcher.poll() is None and time.monotonic() < deadline, _output(home)
            time.sleep(1)
        family = psutil.Process(launcher.pid).children(recursive=True)
        airflow = Airflow(f"http://127.0.0.1:{port}", home, launcher)
        password = json.loads((home / "simple_auth_manager_passwords.json").read_text())["admin"]
        airflow.token = airflow.api(
            "POST", "/auth/token", {"username": "admin", "password": password}
        )["access_token"]
        yield airflow
    finally:
        launcher.send_signal(signal.SIGTERM)  # what Ctrl-C and make airflow-stop do
        try:
            launcher.wait(90)
        finally:
            left = [p for p in family if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
            for process in left:
                process.kill()
            if launcher.poll() is None:
                launcher.kill()
    assert launcher.returncode == 0, _output(home)
    assert not left, f"still running after stop: {[p.pid for p in left]}"
    assert "airflow: stopping" in _output(home)


def _clean_call_ids(url: str, truth, count: int) -> list[int]:
    """Calls without a finding and without a live appointment."""
    flagged = {t.entity_id for t in truth if t.entity_type == "call"}
    rows = query(
        url,
        "SELECT c.id FROM calls c WHERE c.deleted_at IS NULL AND c.direction <> ''"
        " AND NOT c.appointment_made AND NOT EXISTS (SELECT 1 FROM appointments a"
        " WHERE a.call_id = c.id AND a.deleted_at IS NULL) ORDER BY c.id",
    )
    return [i for (i,) in rows if i not in flagged][:count]


def _open(url: str) -> set[tuple[str, str, int]]:
    rows = query(
        url,
        "SELECT alert_type, entity_type, entity_id FROM data_consistency_alerts"
        " WHERE resolved_at IS NULL AND fingerprint IS NOT NULL",
    )
    return set(rows)


@pytest.mark.slow
def test_monitor_runs_on_schedule_and_by_api_trigger(seeded, slack, airflow: Airflow) -> None:
    url, truth = seeded
    # A bad write now, one no correction may fix (a possible phantom booking): what the next
    # scheduled (incremental) run must find, keep open and tell Slack about.
    broken = _clean_call_ids(url, truth, 3)
    written = plant(
        url,
        "UPDATE calls SET appointment_made = true, updated_at = now() WHERE id = ANY(%s)"
        " RETURNING now()",
        (broken,),
    )[0][0]

    scheduled = airflow.wait_for(
        lambda r: (
            r["run_type"] == "scheduled" and datetime.fromisoformat(r["start_date"]) > written
        ),
        "scheduled run started after the bad write",
    )
    assert scheduled["state"] == "success", scheduled
    phantom = {("missing_appointment", "call", i) for i in broken}
    assert phantom <= _open(url)
    assert any("missing_appointment" in text for text in slack.texts)

    # The UI's trigger: no logical date, so no data interval (issue 14, item 1).
    manual = airflow.api(
        "POST", f"/api/v2/dags/{DAG}/dagRuns", {"logical_date": None, "conf": {"full": True}}
    )
    assert manual["logical_date"] is None and manual["data_interval_start"] is None
    finished = airflow.wait_for(lambda r: r["dag_run_id"] == manual["dag_run_id"], "manual run")
    assert finished["state"] == "success", finished
    assert ("full", "succeeded") in query(url, "SELECT mode, status FROM bg_check_runs")
    # The full scan found the seeded defects; its correction tasks fixed the safe ones.
    left = _open(url)
    never_corrected = {
        (t.rule, t.entity_type, t.entity_id)
        for t in truth
        if not RULES_BY_ID[t.rule].auto_correctable
    }
    assert never_corrected | phantom <= left
    assert not {a for a in left if a[0] == "missing_direction"}  # always safe to correct

    # The database-heavy tasks ran in the pool the launcher created; notify outside it.
    pool = airflow.api("GET", "/api/v2/pools/booking_guard_db")
    assert pool["slots"] == 2, pool
    instances = airflow.api(
        "GET", f"/api/v2/dags/{DAG}/dagRuns/{manual['dag_run_id']}/taskInstances"
    )["task_instances"]
    pools = {ti["task_id"]: ti["pool"] for ti in instances}
    assert pools["detect"] == pools["record_alerts"] == pools["correct_missing_direction"]
    assert (pools["detect"], pools["notify"]) == ("booking_guard_db", "default_pool"), pools
