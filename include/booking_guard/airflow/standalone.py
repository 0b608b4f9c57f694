"""Airflow on one machine, sized for a laptop: ``make airflow`` (``python -m`` this module).

``airflow standalone`` as it comes runs 32 LocalExecutor workers (about 5.7 GB on two cores),
binds log servers to every interface and needs the execution API URL changed by hand with the
port. This launcher starts the same four components — api-server, scheduler, dag-processor,
triggerer — with the LocalExecutor at a small parallelism, everything on 127.0.0.1 (the log
servers are off: the API server reads task logs from the shared folder), metadata in SQLite in
``var/airflow``, the repository's DAGs and plugin, and the connections of ``.env`` written into
Airflow's database so the UI shows them. The admin password is printed once, when it is made.

Ctrl-C (or ``stop`` from another shell: ``make airflow-stop``) ends every process it started,
by pid, children included.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import psutil  # type: ignore[import-untyped]

from booking_guard import embedded_postgres
from booking_guard.airflow.pools import DEFAULT_POOL, database_pool, pool_slots
from booking_guard.errors import BookingGuardError

DEFAULT_PORT = 8080
HOST = "127.0.0.1"
ADMIN = "admin"
# The monitored database's Airflow connection, derived from the database URL unless .env sets it.
DATABASE_CONN_ID = "booking_guard_db"
# Laptop-sized defaults; the environment or .env may set any of these to something else.
DEFAULTS = {
    "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
    # Each LocalExecutor worker is a resident process of about 150 MB; the monitor's tasks run
    # one after another, so two leave room for a second DAG.
    "AIRFLOW__CORE__PARALLELISM": "2",
    "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    # The project's DAGs run from the first start: every 5 minutes is the point.
    "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
    "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES": "1",
    "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "60",
    "AIRFLOW__API__WORKERS": "1",
    # The DAGs' database-heavy tasks share one pool, created by ``prepare``.
    "BOOKING_GUARD_DB_POOL": "booking_guard_db",
}
STOP_SECONDS = 30
READY_SECONDS = 180


@dataclass(frozen=True)
class Layout:
    """Where one Airflow lives: its home (metadata, logs, pid file) and the project it runs."""

    home: Path
    project: Path
    port: int = DEFAULT_PORT

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def pid_file(self) -> Path:
        return self.home / "standalone.pids.json"

    @property
    def passwords_file(self) -> Path:
        return self.home / "simple_auth_manager_passwords.json"

    @property
    def logs(self) -> Path:
        return self.home / "logs"


def components(layout: Layout) -> dict[str, list[str]]:
    """The ``airflow`` subcommands to run; no log servers (they bind every interface)."""
    return {
        "api-server": ["api-server", "--host", HOST, "--port", str(layout.port)],
        "scheduler": ["scheduler", "--skip-serve-logs"],
        "dag-processor": ["dag-processor"],
        "triggerer": ["triggerer", "--skip-serve-logs"],
    }


def airflow_env(layout: Layout, base: Mapping[str, str], database_url: str) -> dict[str, str]:
    """The environment of every component: ``base`` (os.environ and .env) over laptop defaults,
    then what this launcher must decide itself (where things are, what binds where)."""
    env = {**DEFAULTS, **base}
    env.update(
        {
            "AIRFLOW_HOME": str(layout.home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(layout.project / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(layout.project / "plugins"),
            "AIRFLOW__CORE__AUTH_MANAGER": (
                "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
            ),
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{ADMIN}:admin",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(layout.passwords_file),
            "AIRFLOW__API__HOST": HOST,
            "AIRFLOW__API__PORT": str(layout.port),
            "AIRFLOW__API__BASE_URL": layout.url,
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{layout.url}/execution/",
            "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "False",
            "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(layout.logs),
            "BOOKING_GUARD_DATABASE_CONN_ID": env.get(
                "BOOKING_GUARD_DATABASE_CONN_ID", DATABASE_CONN_ID
            ),
            "BOOKING_GUARD_DATABASE_URL": database_url,
            "BOOKING_GUARD_GX_DIR": env.get(
                "BOOKING_GUARD_GX_DIR", str(layout.project / "var" / "gx")
            ),
        }
    )
    return env


def connections(env: Mapping[str, str]) -> dict[str, object]:
    """Every ``AIRFLOW_CONN_*`` of the environment as ``airflow connections import`` reads them
    (a URI, or the JSON form), plus the monitored database from its URL unless one is set."""
    found: dict[str, object] = {}
    for name, value in env.items():
        if name.startswith("AIRFLOW_CONN_") and value:
            conn_id = name.removeprefix("AIRFLOW_CONN_").lower()
            found[conn_id] = json.loads(value) if value.lstrip().startswith("{") else value
    found.setdefault(env["BOOKING_GUARD_DATABASE_CONN_ID"], env["BOOKING_GUARD_DATABASE_URL"])
    return found


def read_env_file(path: Path) -> dict[str, str]:
    """``KEY=value`` lines of a ``.env`` file (as docker compose reads it); none when missing."""
    if not path.exists():
        return {}
    from dotenv import dotenv_values

    return {k: v for k, v in dotenv_values(path).items() if v is not None}


def admin_password(layout: Layout) -> str | None:
    """Make the admin password on the first start (returned, to be printed once); None after."""
    if layout.passwords_file.exists():
        return None
    password = secrets.token_urlsafe(12)
    layout.passwords_file.touch(mode=0o600)
    layout.passwords_file.write_text(json.dumps({ADMIN: password}) + "\n")
    return password


class Standalone:
    """The running components: started together, watched, stopped together by pid."""

    def __init__(self, layout: Layout, env: Mapping[str, str]) -> None:
        self.layout = layout
        self.env = dict(env)
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    def prepare(self, conns: Mapping[str, object]) -> None:
        """Migrate Airflow's metadata, create the DAGs' database pool and write the connections
        (the UI lists them)."""
        pool, slots = database_pool(self.env), pool_slots(self.env)  # a bad value: before work
        self.layout.logs.mkdir(parents=True, exist_ok=True)
        self._airflow("db", "migrate")
        if pool != DEFAULT_POOL:
            self._airflow("pools", "set", pool, str(slots), "booking-guard: database-heavy tasks")
        conn_file = self.layout.home / "connections.json"
        conn_file.touch(mode=0o600)
        try:
            conn_file.write_text(json.dumps(conns))
            self._airflow("connections", "import", "--overwrite", str(conn_file))
        finally:
            conn_file.unlink()

    def start(self) -> None:
        """Start every component in its own session, so a terminal's Ctrl-C reaches only us.

        Connections come from Airflow's database alone (``prepare`` wrote them): an edit in the
        UI holds until the next start, and no ``AIRFLOW_CONN_*`` variable shadows it meanwhile.
        """
        running_env = {k: v for k, v in self.env.items() if not k.startswith("AIRFLOW_CONN_")}
        for name, args in components(self.layout).items():
            log = (self.layout.logs / f"{name}.log").open("ab")
            self.processes[name] = subprocess.Popen(  # noqa: S603 - our own airflow, fixed args
                [_airflow_bin(), *args],
                env=running_env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            log.close()
        self.layout.pid_file.write_text(
            json.dumps(
                {
                    "launcher": _identity(os.getpid()),
                    "components": {n: _identity(p.pid) for n, p in self.processes.items()},
                }
            )
        )

    def wait_ready(self, timeout: float = READY_SECONDS) -> None:
        """Until the API server reports the scheduler, DAG processor and triggerer healthy."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check_alive()
            if _healthy(self.layout.url):
                return
            time.sleep(1)
        raise BookingGuardError(
            f"Airflow not healthy after {timeout:.0f} s; see {self.layout.logs}"
        )

    def check_alive(self) -> None:
        for name, process in self.processes.items():
            if process.poll() is not None:
                raise BookingGuardError(
                    f"{name} exited ({process.returncode}); see {self.layout.logs / name}.log"
                )

    def stop(self) -> None:
        stop_pids([p.pid for p in self.processes.values()])
        self.layout.pid_file.unlink(missing_ok=True)

    def _airflow(self, *args: str) -> None:
        log = self.layout.logs / "setup.log"
        with log.open("ab") as out:
            done = subprocess.run(  # noqa: S603 - our own airflow, fixed args
                [_airflow_bin(), *args], env=self.env, stdout=out, stderr=subprocess.STDOUT
            )
        if done.returncode:
            raise BookingGuardError(f"airflow {' '.join(args[:2])} failed; see {log}")


def stop_pids(pids: Sequence[int], timeout: float = STOP_SECONDS) -> None:
    """SIGTERM each process; once they are gone (or the time is up), every descendant they had
    that is still there, then SIGKILL what remains."""
    leaders, family = [], []
    for pid in pids:
        with contextlib.suppress(psutil.NoSuchProcess):
            leader = psutil.Process(pid)
            family += leader.children(recursive=True)
            leader.terminate()
            leaders.append(leader)
    _, alive = psutil.wait_procs(leaders, timeout=timeout)
    rest = alive + [p for p in family if p.is_running()]
    for process in rest:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.terminate()
    _, alive = psutil.wait_procs(rest, timeout=5)
    for process in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.kill()


def stop(home: Path) -> bool:
    """``make airflow-stop``: ask the launcher to stop (it ends its components); if it is gone,
    end the components it recorded. False when nothing was running."""
    pid_file = home / "standalone.pids.json"
    if not pid_file.exists():
        return False
    recorded = json.loads(pid_file.read_text())
    launcher = _still(recorded["launcher"])
    if launcher is not None:
        launcher.send_signal(signal.SIGTERM)
        with contextlib.suppress(psutil.TimeoutExpired):
            launcher.wait(STOP_SECONDS + 10)
    stop_pids([p.pid for p in map(_still, recorded["components"].values()) if p is not None])
    pid_file.unlink(missing_ok=True)
    return True


def _identity(pid: int) -> list[float]:
    """A pid with its start time: a recycled pid is not taken for ours."""
    return [pid, psutil.Process(pid).create_time()]


def _still(identity: list[float]) -> psutil.Process | None:
    pid, created = identity
    try:
        process = psutil.Process(int(pid))
        return process if process.create_time() == created else None
    except psutil.NoSuchProcess:
        return None


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/api/v2/monitor/health", timeout=5) as response:  # noqa: S310 - our loopback URL
            health = json.load(response)
    except (OSError, ValueError):
        return False
    parts = ("metadatabase", "scheduler", "triggerer", "dag_processor")
    return all((health.get(p) or {}).get("status") == "healthy" for p in parts)


def _airflow_bin() -> str:
    return str(Path(sys.executable).with_name("airflow"))


def _interrupt(signum: int, frame: object) -> None:
    """Ctrl-C and SIGTERM (``make airflow-stop``) unwind alike (also when the launcher was
    started in the background, where SIGINT comes ignored)."""
    raise KeyboardInterrupt


def run(layout: Layout, env_file: Path) -> None:
    """Start, print where to log in, watch until Ctrl-C or SIGTERM, stop everything."""
    if layout.pid_file.exists() and _still(json.loads(layout.pid_file.read_text())["launcher"]):
        raise BookingGuardError(f"Airflow already runs from {layout.home} (make airflow-stop)")
    layout.home.mkdir(parents=True, exist_ok=True)
    base = {**read_env_file(env_file), **os.environ}
    database = embedded_postgres.resolve(layout.project / "var" / "postgres", env=base)
    env = airflow_env(layout, base, database.url)
    password = admin_password(layout)
    standalone = Standalone(layout, env)
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        print(f"airflow: preparing {layout.home} (log: {layout.logs / 'setup.log'})")
        standalone.prepare(connections(env))
        print("airflow: starting api-server, scheduler, dag-processor, triggerer")
        standalone.start()
        standalone.wait_ready()
        print(f"\nAirflow UI: {layout.url}   user: {ADMIN}")
        if password:
            print(f"admin password (shown this once, kept in {layout.passwords_file}): {password}")
            password = None
        else:
            print(f"admin password: in {layout.passwords_file}")
        print(f"component logs: {layout.logs}/<component>.log   stop: Ctrl-C or make airflow-stop")
        while True:
            standalone.check_alive()
            time.sleep(2)
    except KeyboardInterrupt:
        print("\nairflow: stopping")
    finally:
        # A second Ctrl-C must not leave half of the processes behind.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        standalone.stop()
        if database.started:
            embedded_postgres.stop(layout.project / "var" / "postgres")
        if password:  # made but never shown: the next start makes a new one
            layout.passwords_file.unlink()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m booking_guard.airflow.standalone")
    parser.add_argument("command", choices=["start", "stop"], nargs="?", default="start")
    parser.add_argument("--project", type=Path, default=Path.cwd(), help="the repository")
    parser.add_argument("--home", type=Path, help="AIRFLOW_HOME (default: PROJECT/var/airflow)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--env-file", type=Path, help="default: PROJECT/.env")
    args = parser.parse_args(argv)
    project = args.project.resolve()
    home = (args.home or project / "var" / "airflow").resolve()
    try:
        if args.command == "stop":
            print("airflow: stopped" if stop(home) else "airflow: not running")
            return 0
        run(Layout(home, project, args.port), args.env_file or project / ".env")
    except BookingGuardError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
