"""docker-compose.yml checked statically (no container engine here): the many-machine deployment
has every service, pinned images, loopback-only ports, health checks, an init that migrates, and
every setting the code reads either set or documented in .env.example."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
import yaml

from tests.helpers import REPO

COMPOSE = yaml.safe_load((REPO / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
AIRFLOW_SERVICES = {
    "airflow-init",
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
    "airflow-worker",
}
LONG_RUNNING = set(SERVICES) - {"airflow-init"}
ENV_NAME = re.compile(r"^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+$")
PINNED = re.compile(r"^[\w./-]+:\d+(?:\.\d+)+(?:-[\w.]+)?$")


def _airflow_version() -> str:
    pins = (REPO / "requirements.txt").read_text()
    return re.search(r"^apache-airflow==(\S+)$", pins, re.M).group(1)


def test_compose_is_valid_yaml_with_every_service() -> None:
    assert set(SERVICES) == AIRFLOW_SERVICES | {"airflow-db", "booking-db", "redis"}


def test_images_are_pinned_and_none_is_latest() -> None:
    for name, service in SERVICES.items():
        assert PINNED.match(service["image"]), (name, service["image"])
    text = (REPO / "docker-compose.yml").read_text() + (REPO / "Dockerfile").read_text()
    assert ":latest" not in text
    [base] = re.findall(r"^FROM (\S+)", (REPO / "Dockerfile").read_text(), re.M)
    assert base == f"apache/airflow:{_airflow_version()}-python3.11"
    for name in AIRFLOW_SERVICES:
        assert SERVICES[name]["image"] == f"booking-guard-airflow:{_airflow_version()}"
    # The executor's packages are pinned too.
    assert re.search(
        r'"apache-airflow-providers-celery==[\d.]+"', (REPO / "Dockerfile").read_text()
    )


def test_celery_executor_with_redis_broker_and_postgres_metadata() -> None:
    env = SERVICES["airflow-scheduler"]["environment"]
    assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert env["AIRFLOW__CELERY__BROKER_URL"].startswith("redis://redis:6379/")
    assert "@airflow-db:5432/airflow" in env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    assert "@booking-db:5432/" in env["BOOKING_GUARD_DATABASE_URL"]
    assert env["BOOKING_GUARD_REDIS_URL"].endswith("redis://redis:6379/1}")
    # Every component reaches the execution API at the API server's address.
    assert (
        env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://airflow-apiserver:8080/execution/"
    )
    assert SERVICES["airflow-apiserver"]["command"][1:] == [
        "--host",
        "airflow-apiserver",
        "--port",
        "8080",
    ]


def test_workers_scale_and_no_log_server_listens() -> None:
    worker = SERVICES["airflow-worker"]
    assert worker["command"][:2] == ["celery", "worker"]
    assert "container_name" not in worker and "ports" not in worker  # --scale airflow-worker=N
    for name in ("airflow-worker", "airflow-scheduler", "airflow-triggerer"):
        assert "--skip-serve-logs" in SERVICES[name]["command"], name
    for name in AIRFLOW_SERVICES:
        assert "airflow-logs:/opt/airflow/logs" in SERVICES[name]["volumes"], name


def test_published_ports_are_loopback_only() -> None:
    published = [(n, p) for n, s in SERVICES.items() for p in s.get("ports", [])]
    assert published
    for name, port in published:
        assert port.startswith("127.0.0.1:"), (name, port)
    assert "0.0.0.0" not in (REPO / "docker-compose.yml").read_text()


def test_health_checks_and_start_order() -> None:
    for name in LONG_RUNNING:
        assert SERVICES[name]["healthcheck"]["test"], name
    init = SERVICES["airflow-init"]
    script = " ".join(init["command"])
    assert "airflow db migrate" in script and "booking-guard migrate" in script
    assert init["depends_on"]["airflow-db"]["condition"] == "service_healthy"
    assert init["depends_on"]["booking-db"]["condition"] == "service_healthy"
    for name in AIRFLOW_SERVICES - {"airflow-init"}:
        depends = SERVICES[name]["depends_on"]
        assert depends["airflow-init"]["condition"] == "service_completed_successfully", name


def test_project_folders_are_mounted() -> None:
    for name in AIRFLOW_SERVICES:
        mounts = {v.split(":")[0] for v in SERVICES[name]["volumes"]}
        assert {"./dags", "./plugins", "./include", "./sql", "./expectations"} <= mounts, name
    env = SERVICES["airflow-worker"]["environment"]
    assert env["AIRFLOW__CORE__DAGS_FOLDER"] == "/opt/booking-guard/dags"
    assert env["AIRFLOW__CORE__PLUGINS_FOLDER"] == "/opt/booking-guard/plugins"


def _names_read(path: Path) -> set[str]:
    """Environment variable names a module reads: string arguments of calls on, or taking,
    ``env``/``os.environ`` (``env.get("X")``, ``_int(env, "X", …)``, ``os.getenv("X")``), and
    subscripts ``env["X"]``."""

    def is_env(node: ast.AST) -> bool:
        return (isinstance(node, ast.Name) and node.id in {"env", "environ"}) or (
            isinstance(node, ast.Attribute) and node.attr == "environ"
        )

    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        candidates: list[ast.AST] = []
        if isinstance(node, ast.Call):
            func = node.func
            reads = any(is_env(a) for a in node.args) or (
                isinstance(func, ast.Attribute) and (is_env(func.value) or func.attr == "getenv")
            )
            if reads:
                candidates = list(node.args)
        elif isinstance(node, ast.Subscript) and is_env(node.value):
            candidates = [node.slice]
        names |= {
            c.value
            for c in candidates
            if isinstance(c, ast.Constant) and isinstance(c.value, str) and ENV_NAME.match(c.value)
        }
    return names


CODE_READS = sorted(
    set().union(
        *(
            _names_read(p)
            for folder in ("include", "plugins", "dags")
            for p in (REPO / folder).rglob("*.py")
        )
    )
)


def test_the_scan_finds_the_settings_the_code_reads() -> None:
    # The scan itself must see through the different ways the code reads the environment.
    assert {
        "BOOKING_GUARD_DATABASE_URL",  # env.get
        "DATA_CONSISTENCY_ALERT_COOLDOWN_SECONDS",  # _int(env, …) over several lines
        "CIRCUIT_BREAKER_FAILURE_THRESHOLD",  # the breaker's _number(env, …)
        "BOOKING_GUARD_MONITOR_SCHEDULE",  # os.environ.get in a DAG file
    } <= set(CODE_READS)


@pytest.mark.parametrize("name", CODE_READS)
def test_every_setting_the_code_reads_is_set_or_documented(name: str) -> None:
    compose_env = SERVICES["airflow-worker"]["environment"]
    documented = re.search(rf"^#? ?{name}=", (REPO / ".env.example").read_text(), re.M)
    assert name in compose_env or documented, (
        f"{name}: set it in docker-compose.yml or .env.example"
    )
