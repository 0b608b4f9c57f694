"""The event path: change triggers (coalesced NOTIFY), event runs over single entities, their
alerts, and — slow — a bad row committed becoming an open alert through the real triggerer."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager, suppress
from pathlib import Path

import psutil
import psycopg
import pytest

from booking_guard import alerts, change_events, detection, monitor
from booking_guard.settings import Settings
from tests.helpers import REPO, query


def listener(url: str) -> psycopg.Connection:
    conn = psycopg.connect(url, autocommit=True)
    conn.execute(f"LISTEN {change_events.CHANNEL}")
    return conn


def received(conn: psycopg.Connection) -> list[str]:
    return [n.payload for n in conn.notifies(timeout=2)]


def test_a_bulk_load_costs_a_handful_of_notifications(migrated_db: str) -> None:
    url = migrated_db
    query(url, "INSERT INTO companies (id, name) VALUES (1, 'c')")
    with listener(url) as listening:
        query(
            url,
            "INSERT INTO calls (company_id, direction)"
            " SELECT 1, 'inbound' FROM generate_series(1, 200000)",
        )
        assert received(listening) == ["call"]
        # Many statements in one transaction: PostgreSQL folds identical payloads.
        with psycopg.connect(url) as conn:
            for call_id in range(1, 501):
                conn.execute("UPDATE calls SET direction = 'outbound' WHERE id = %s", (call_id,))
        assert received(listening) == ["call"]
        query(url, "UPDATE calls SET updated_at = now() WHERE id = -1")  # no row, no message
        assert received(listening) == []
    assert query(url, "SELECT count(*), count(DISTINCT entity_id) FROM bg_change_events") == [
        (200_500, 200_000)
    ]
    batch = change_events.drain(url)
    assert (batch.entities, batch.left_to_incremental) == (200_000, True)
    assert batch.call_ids == [] and batch.appointment_ids == []  # the window scan's business
    assert change_events.drain(url).entities == 0  # drained once


def test_appointments_publish_their_ids_and_a_drain_returns_them(migrated_db: str) -> None:
    url = migrated_db
    query(url, "INSERT INTO companies (id, name) VALUES (1, 'c')")
    query(url, "INSERT INTO calls (id, company_id, direction) VALUES (7, 1, 'inbound')")
    with listener(url) as listening:
        query(
            url,
            "INSERT INTO appointments (id, company_id, call_id, source)"
            " VALUES (3, 1, 7, 'retell_webhook'), (4, 1, NULL, 'manual')",
        )
        # The appointments' trigger of 0003 links call 7 in the same transaction: both kinds.
        assert sorted(received(listening)) == ["appointment", "call"]
    batch = change_events.drain(url)
    assert (batch.call_ids, batch.appointment_ids) == ([7], [3, 4])


def open_alerts(url: str, rule: str) -> set[int]:
    rows = query(
        url,
        "SELECT entity_id FROM data_consistency_alerts"
        " WHERE alert_type = %s AND resolved_at IS NULL AND fingerprint IS NOT NULL",
        (rule,),
    )
    return {i for (i,) in rows}


def test_monitor_runs_expire_the_events_their_window_covers(migrated_db: str) -> None:
    query(migrated_db, "INSERT INTO companies (id, name) VALUES (1, 'c')")
    query(migrated_db, "INSERT INTO calls (id, company_id, direction) VALUES (1, 1, 'inbound')")
    query(migrated_db, "UPDATE bg_change_events SET at = now() - interval '1 hour'")
    query(migrated_db, "INSERT INTO calls (id, company_id, direction) VALUES (2, 1, 'inbound')")
    ((since,),) = query(migrated_db, "SELECT now() - interval '10 minutes'")
    detection.detect(migrated_db, since=since)
    assert query(migrated_db, "SELECT entity_id FROM bg_change_events") == [(2,)]
    detection.detect(migrated_db, full=True)
    assert query(migrated_db, "SELECT count(*) FROM bg_change_events") == [(0,)]


def test_an_event_run_opens_and_resolves_exactly_for_its_entities(seeded) -> None:
    url, truth = seeded
    monitor.record(Settings.from_env(url), detection.detect(url, full=True))
    window = detection.last_successful_start(psycopg.connect(url))
    missing = sorted(t.entity_id for t in truth if t.rule == "missing_direction")
    fixed, still_bad, outside = missing[0], missing[1], missing[2:]
    flagged = {t.entity_id for t in truth if t.entity_type == "call"}
    ((new_bad,),) = query(
        url,
        "SELECT min(id) FROM calls WHERE deleted_at IS NULL AND NOT (id = ANY(%s))",
        (sorted(flagged),),
    )
    query(url, "UPDATE calls SET direction = 'inbound' WHERE id = %s", (fixed,))
    query(url, "UPDATE calls SET direction = NULL WHERE id = %s", (new_bad,))
    # Fixed outside the event's scope: only a later run may close its alert.
    query(url, "UPDATE calls SET direction = 'inbound' WHERE id = %s", (outside[0],))

    run = detection.detect_entities(url, call_ids=[fixed, still_bad, new_bad], appointment_ids=[])
    assert run.mode == "event" and run.counts["missing_direction"] == 2
    changes = monitor.record(Settings.from_env(url), run)
    assert (changes.opened, changes.resolved) == (1, 1)
    assert changes.by_rule["missing_direction"].seen_again == 1
    assert open_alerts(url, "missing_direction") == {still_bad, new_bad, *outside}
    assert query(url, "SELECT status FROM bg_check_runs WHERE id = %s", (run.run_id,)) == [
        ("succeeded",)
    ]
    # The event run never moves the incremental window.
    with psycopg.connect(url) as conn:
        assert detection.last_successful_start(conn) == window
        assert detection.detect(url).window_start == window


def test_an_event_run_resolves_where_it_looked_even_if_links_change_after(seeded) -> None:
    url, truth = seeded
    alerts.record(url, detection.detect(url, full=True))
    missing = sorted(t.entity_id for t in truth if t.rule == "missing_direction")
    run = detection.detect_entities(url, call_ids=[missing[0]], appointment_ids=[])
    # Fixed after the run looked: the run saw it broken, so the alert stays open.
    query(url, "UPDATE calls SET direction = 'inbound' WHERE id = %s", (missing[0],))
    assert alerts.record(url, run).resolved == 0
    stored = query(
        url,
        "SELECT entity_type, entity_id FROM bg_event_run_entities WHERE run_id = %s",
        (run.run_id,),
    )
    assert ("call", missing[0]) in stored


def commits(url: str, count: int) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        for _ in range(count):
            conn.execute("INSERT INTO calls (company_id, direction) VALUES (1, 'inbound')")


def test_the_trigger_fires_once_per_burst_and_reconnects(migrated_db: str, monkeypatch) -> None:
    """The trigger as the triggerer runs it: a burst of commits is one event; a killed
    connection is re-opened, and what was written meanwhile fires an event on reconnecting."""
    import asyncio

    from booking_guard.airflow.change_trigger import ChangeEventTrigger

    url = migrated_db
    monkeypatch.setenv("BOOKING_GUARD_DATABASE_URL", url)
    query(url, "INSERT INTO companies (id, name) VALUES (1, 'c')")
    trigger = ChangeEventTrigger(settle_seconds=3, max_backoff_seconds=1)
    assert "password" not in str(trigger.serialize()) and trigger.serialize()[1]["conn_id"] is None

    async def scenario() -> list[dict]:
        events = trigger.run()
        listening = asyncio.ensure_future(anext(events))
        await asyncio.sleep(1)  # connected and listening
        await asyncio.to_thread(commits, url, 20)  # twenty transactions in a burst
        first = await asyncio.wait_for(listening, 10)
        # The listener's backend is killed; a change lands while it is away.
        killed = await asyncio.to_thread(
            query,
            url,
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()",
        )
        assert killed == [(True,)]
        await asyncio.to_thread(query, url, "UPDATE calls SET direction = 'outbound'")
        second = await asyncio.wait_for(anext(events), 15)
        await events.aclose()
        return [first.payload, second.payload]

    first, second = asyncio.run(scenario())
    assert first["entity_types"] == ["call"] and first["notifications"] == 20
    assert second["entity_types"] == ["pending"]


# --- The real Airflow processes: scheduler, dag-processor, triggerer, api-server -----------------

AIRFLOW_PROCESSES = ("api-server", "scheduler", "dag-processor", "triggerer")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def listener_connected(url: str) -> bool:
    """Whether the triggerer's listener is connected (its last query is the pending check)."""
    rows = query(
        url,
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
        " AND pid <> pg_backend_pid() AND query LIKE '%%FROM bg_change_events)%%'",
    )
    return rows[0][0] > 0


@contextmanager
def event_path_airflow(database_url: str, home: Path, env: dict[str, str] | None = None):
    """Airflow 3 as deployed (LocalExecutor, SQLite metadata) with only ``consistency_events``
    in its DAG folder, on 127.0.0.1; yields once the DAG's listener is connected. Every process
    started here (and each of its children) is stopped by pid afterwards."""
    dags = home / "dags"
    dags.mkdir(parents=True)
    (dags / "consistency_events.py").symlink_to(REPO / "dags" / "consistency_events.py")
    port = _free_port()
    environment = {
        **os.environ,
        **(env or {}),
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__PARALLELISM": "2",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
        "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{port}",
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__WORKERS": "1",
        "AIRFLOW__API_AUTH__JWT_SECRET": uuid.uuid4().hex,
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
        "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES": "1",
        "AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME": "0.5",
        "BOOKING_GUARD_DATABASE_URL": database_url,
        "PYTHONPATH": os.pathsep.join(
            [
                str(REPO / "include"),
                str(REPO / "plugins"),
                str(REPO),
                os.environ.get("PYTHONPATH", ""),
            ]
        ),
    }
    airflow = [sys.executable, "-m", "airflow"]
    subprocess.run([*airflow, "db", "migrate"], env=environment, check=True, capture_output=True)
    started: list[subprocess.Popen[bytes]] = []
    family: dict[int, psutil.Process] = {}
    try:
        for name in AIRFLOW_PROCESSES:
            with (home / f"{name}.log").open("wb") as out:
                started.append(
                    subprocess.Popen(
                        [*airflow, *name.split()], env=environment, stdout=out, stderr=out
                    )
                )
        deadline = time.monotonic() + 240
        while not listener_connected(database_url):
            dead = [p.args for p in started if p.poll() is not None]
            assert not dead and time.monotonic() < deadline, (dead, _logs(home))
            for process in started:
                family.update({c.pid: c for c in _children(process.pid)})
            time.sleep(1)
        yield home
    finally:
        for process in started:
            family.update({c.pid: c for c in _children(process.pid)})
            process.send_signal(signal.SIGTERM)
        for process in started:
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)
        for child in family.values():
            with suppress(psutil.NoSuchProcess):
                if child.is_running() and child.status() != psutil.STATUS_ZOMBIE:
                    child.kill()


def _children(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def _logs(home: Path) -> str:
    return "\n".join(
        f"--- {name}\n" + (home / f"{name}.log").read_text(errors="replace")[-3000:]
        for name in AIRFLOW_PROCESSES
    )


def wait_for_open_alert(url: str, rule: str, entity_id: int, timeout: float) -> float | None:
    """Seconds until an open alert of ``rule`` for the entity exists, or None after timeout."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if entity_id in open_alerts(url, rule):
            return time.monotonic() - started
        time.sleep(0.2)
    return None


@pytest.mark.slow
def test_a_bad_write_becomes_an_open_alert_through_the_triggerer(seeded, slack, tmp_path) -> None:
    url, truth = seeded
    flagged = {t.entity_id for t in truth if t.entity_type == "call"}
    ((clean,),) = query(
        url,
        "SELECT min(id) FROM calls WHERE deleted_at IS NULL AND NOT (id = ANY(%s))",
        (sorted(flagged),),
    )
    with event_path_airflow(url, tmp_path / "airflow") as home:
        # The app's own write, triggers on: nothing corrects a direction cleared by an UPDATE.
        query(url, "UPDATE calls SET direction = NULL WHERE id = %s", (clean,))
        seconds = wait_for_open_alert(url, "missing_direction", clean, timeout=60)
        assert seconds is not None, _logs(home)
    runs = query(url, "SELECT mode, status FROM bg_check_runs")
    assert ("event", "succeeded") in runs and ("full", "succeeded") not in runs


def test_the_events_dag_is_scheduled_by_the_listener_one_run_at_a_time() -> None:
    from airflow.dag_processing.dagbag import DagBag

    from booking_guard.airflow.change_trigger import ChangeEventTrigger

    bag = DagBag(dag_folder=str(REPO / "dags" / "consistency_events.py"))
    assert bag.import_errors == {}
    dag = bag.dags["consistency_events"]
    assert dag.max_active_runs == 1
    (asset,) = dag.timetable.asset_condition.objects
    (watcher,) = asset.watchers
    assert isinstance(watcher.trigger, ChangeEventTrigger)
    assert dag.get_task("detect").upstream_task_ids == {"drain"}
    assert dag.get_task("record_alerts").upstream_task_ids == {"detect"}
    assert dag.get_task("notify").upstream_task_ids == {"record_alerts"}
