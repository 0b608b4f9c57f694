"""The DAGs as Airflow sees them: DagBag import, schedule contract, a real run with dag.test()."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from booking_guard.rules import RULES
from tests.helpers import REPO, plant, query


@pytest.fixture
def defects_db(migrated_db: str) -> str:
    query(migrated_db, "INSERT INTO companies (id, name) VALUES (1, 'c')")
    plant(
        migrated_db, "INSERT INTO calls (id, company_id, direction) VALUES (1, 1, NULL), (2, 1, '')"
    )
    return migrated_db


@pytest.fixture(scope="session")
def airflow_db() -> None:
    """Airflow's own metadata (SQLite in the session's throw-away AIRFLOW_HOME)."""
    subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), "airflow"), "db", "migrate"],
        check=True,
        capture_output=True,
        env=os.environ.copy(),
    )


@pytest.fixture(scope="session")
def dagbag(airflow_db):
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(REPO / "dags"))


def test_dagbag_loads_without_import_errors(dagbag) -> None:
    assert dagbag.import_errors == {}
    assert {
        "consistency_monitor",
        "deploy_consistency_migrations",
        "manual_review_queue",
    } <= set(dagbag.dag_ids)


def test_every_dag_has_a_slack_failure_callback(dagbag) -> None:
    from booking_guard.airflow.notifier import slack_failure_notifier

    for dag_id in dagbag.dag_ids:
        dag = dagbag.dags.get(dag_id)
        assert slack_failure_notifier in _as_list(dag.on_failure_callback), dag_id
        for task in dag.tasks:
            assert slack_failure_notifier in _as_list(task.on_failure_callback), task.task_id


def _as_list(callback) -> list:
    return callback if isinstance(callback, list) else [callback]


def test_database_heavy_tasks_take_the_configured_pool(airflow_db, monkeypatch) -> None:
    from airflow.dag_processing.dagbag import DagBag

    monkeypatch.setenv("BOOKING_GUARD_DB_POOL", "bg_test_pool")
    dags = DagBag(dag_folder=str(REPO / "dags")).dags
    pooled = {
        (dag_id, task.task_id)
        for dag_id, dag in dags.items()
        for task in dag.tasks
        if task.pool == "bg_test_pool"
    }
    assert {
        ("consistency_monitor", "detect"),
        ("consistency_monitor", "record_alerts"),
        ("consistency_monitor", "correct_missing_direction"),
        ("consistency_monitor", "validate"),
        ("consistency_full_scan", "scan_shard"),
        ("manual_review_queue", "recheck_pending"),
        ("consistency_daily_report", "compute_figures"),
    } <= pooled
    # the alert's last step and the seconds-fresh path never wait for a database slot
    assert not {t for t in pooled if t[1] == "notify" or t[0] == "consistency_events"}


def test_monitor_schedule_contract(dagbag) -> None:
    dag = dagbag.dags.get("consistency_monitor")
    assert dag.max_active_runs == 1 and not dag.catchup
    from airflow.sdk import CronDataIntervalTimetable

    # Data intervals, not zero-width trigger times: a run covers the five minutes before it.
    assert isinstance(dag.timetable, CronDataIntervalTimetable)
    assert dag.timetable.expression == "*/5 * * * *"
    detect = dag.get_task("detect")
    assert detect.retries >= 1 and detect.retry_exponential_backoff
    correcting = {f"correct_{rule.id}" for rule in RULES if rule.auto_correctable}
    assert len(correcting) == 5
    tasks = {"detect", "record_alerts", "notify", "validate"} | correcting
    assert {t.task_id for t in dag.tasks} == tasks
    assert dag.get_task("record_alerts").upstream_task_ids == {"detect"}
    for task_id in correcting:  # the run's findings (XCom) and its recorded alerts
        assert dag.get_task(task_id).upstream_task_ids == {"detect", "record_alerts"}
    notify = dag.get_task("notify")
    assert notify.upstream_task_ids == correcting
    assert notify.trigger_rule == "all_done"  # a blocked correction's alert still goes out
    assert dag.get_task("validate").upstream_task_ids == {"detect"}  # off the alert path
    assert [a.name for a in dag.get_task("record_alerts").outlets] == ["booking_guard_findings"]


def test_review_dag_schedule_contract(dagbag) -> None:
    dag = dagbag.dags.get("manual_review_queue")
    assert dag.timetable.expression == "0 * * * *"  # hourly
    assert dag.max_active_runs == 1 and not dag.catchup
    assert dag.get_task("recheck_pending").upstream_task_ids == {"queue_new"}
    assert dag.get_task("escalate_stale").upstream_task_ids == {"recheck_pending"}
    assert {t.owner for t in dag.tasks} == {"data-engineering"}


def test_the_alert_path_never_imports_great_expectations(defects_db: str) -> None:
    """detect → record_alerts → notify, each as its task runs it, in a fresh process."""
    code = (
        "import sys; from booking_guard.airflow import tasks;"
        " run = tasks.detect({'params': {'full': True}});"
        " changes = tasks.record_alerts(run); tasks.notify();"
        " assert changes['opened'] > 0, changes;"
        " assert 'great_expectations' not in sys.modules, 'GX imported on the alert path'"
    )
    env = {**os.environ, "BOOKING_GUARD_DATABASE_URL": defects_db}
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]


def test_record_alerts_logs_one_line_per_rule(
    defects_db: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from booking_guard.airflow import tasks
    from booking_guard.rules import RULES

    monkeypatch.setenv("BOOKING_GUARD_DATABASE_URL", defects_db)
    run = tasks.detect({"params": {"full": True}})
    with caplog.at_level("INFO", logger="booking_guard.airflow.tasks"):
        tasks.record_alerts(run)
    lines = [r.getMessage() for r in caplog.records]
    rule_lines = [line for line in lines if line.startswith("rule ")]
    assert len(rule_lines) == len(RULES)
    assert any("missing_direction" in line and "findings       2" in line for line in rule_lines)
    assert any(line.startswith(f"run {run['run_id']}:") for line in lines)


def test_dag_files_do_not_import_great_expectations_at_parse_time() -> None:
    code = (
        "import sys, runpy; runpy.run_path(sys.argv[1]);"
        " assert 'great_expectations' not in sys.modules, 'GX imported at parse time'"
    )
    for path in (REPO / "dags").glob("*.py"):
        subprocess.run([sys.executable, "-c", code, str(path)], check=True, env=os.environ.copy())


@pytest.mark.slow
def test_monitor_dag_corrects_and_review_dag_queues(
    seeded, airflow_db, dagbag, slack, monkeypatch
) -> None:
    url, truth = seeded
    # The monitored database as an Airflow connection, the way a deployment configures it.
    monkeypatch.setenv("AIRFLOW_CONN_BOOKING_GUARD_DB", url)
    monkeypatch.setenv("BOOKING_GUARD_DATABASE_CONN_ID", "booking_guard_db")
    monkeypatch.setenv("BOOKING_GUARD_DATABASE_URL", "postgresql://nobody@127.0.0.1:1/not_this")
    # The seed plants 600 missing directions: above the limit of 500, the others below it.
    planted = {rule.id: sum(t.rule == rule.id for t in truth) for rule in RULES}
    assert (
        planted["missing_direction"]
        > 500
        > max(n for rule_id, n in planted.items() if rule_id != "missing_direction")
    )
    dag = dagbag.dags.get("consistency_monitor")
    run = dag.test(run_conf={"full": True})
    states = {ti.task_id: ti.state for ti in run.get_task_instances()}
    assert states.pop("correct_missing_direction") == "failed"
    assert set(states.values()) == {"success"}
    assert query(url, "SELECT status FROM bg_check_runs") == [("succeeded",)]

    # Open: what no correction may fix, the blocked rule's findings, the orphans queued for
    # review — and the critical alert of the blocked rule, which notify sent.
    queued = {a for (a,) in query(url, "SELECT appointment_id FROM manual_review_queue")}
    correctable = {rule.id for rule in RULES if rule.auto_correctable} - {"missing_direction"}
    expected = {(t.rule, t.entity_id) for t in truth if t.rule not in correctable} | {
        ("orphaned_appointment", a) for a in queued
    }
    open_alerts = set(
        query(
            url,
            "SELECT alert_type, entity_id FROM data_consistency_alerts"
            " WHERE resolved_at IS NULL AND alert_type <> 'correction_blocked'",
        )
    )
    assert open_alerts == expected
    assert query(
        url,
        "SELECT severity, notified_at IS NOT NULL FROM data_consistency_alerts"
        " WHERE alert_type = 'correction_blocked' AND resolved_at IS NULL",
    ) == [("critical", True)]
    assert any("correction_blocked" in text for text in slack.texts)
    assert any("`correct_missing_direction`" in text for text in slack.texts)  # the callback

    review_run = dagbag.dags.get("manual_review_queue").test()
    assert review_run.state == "success"
    by_reason = dict(query(url, "SELECT reason, count(*) FROM manual_review_queue GROUP BY reason"))
    assert by_reason == {
        **{
            rule: planted[rule]
            for rule in (
                "missing_appointment",
                "cross_tenant_link",
                "duplicate_booking_id",
                "appointment_call_missing",
            )
        },
        "orphaned_appointment": len(queued),
    }


@pytest.mark.slow
def test_deploy_dag_pretends_then_deploys(app_db, airflow_db, dagbag, monkeypatch) -> None:
    from booking_guard import migrations

    monkeypatch.setenv("BOOKING_GUARD_DATABASE_URL", app_db)
    dag = dagbag.dags.get("deploy_consistency_migrations")
    assert type(dag.timetable).__name__ == "NullTimetable"  # manual only
    pretend = dag.test(run_conf={"target": "head", "pretend": True})
    assert pretend.state == "success"
    assert migrations.status(app_db).current is None  # pretend changed nothing

    assert dag.test(run_conf={"target": "head", "pretend": False}).state == "success"
    assert migrations.status(app_db).up_to_date
    assert dag.test(run_conf={"target": "0002", "pretend": False}).state == "success"
    assert migrations.status(app_db).current == "0002"


@pytest.mark.slow
def test_sharded_full_scan_dag_finds_the_truth(seeded, airflow_db, dagbag, monkeypatch) -> None:
    url, truth = seeded
    monkeypatch.setenv("BOOKING_GUARD_DATABASE_URL", url)
    dag = dagbag.dags.get("consistency_full_scan")
    assert dag.get_task("scan_shard").upstream_task_ids == {"open_run"}
    run = dag.test(run_conf={"shards": 2})
    assert run.state == "success"
    rows = query(
        url,
        "SELECT alert_type, entity_type, entity_id, coalesce(column_name, '')"
        " FROM data_consistency_alerts WHERE resolved_at IS NULL AND fingerprint IS NOT NULL",
    )
    assert set(rows) == {(t.rule, t.entity_type, t.entity_id, t.column or "") for t in truth}
    mapped = [ti for ti in run.get_task_instances() if ti.task_id == "scan_shard"]
    assert sorted(ti.map_index for ti in mapped) == [0, 1]
