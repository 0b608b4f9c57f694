"""Memory of the one-machine Airflow (`make airflow`) next to an untuned `airflow standalone`.

Sums the RSS (and the PSS, which counts pages shared between forked processes once) of every
process each one starts: idle once healthy, and for the launcher also during a full
`consistency_monitor` run triggered through the REST API. The baseline runs in a network
namespace of its own (`unshare --net`): untuned, its API server and log servers bind every
interface, which must not reach this machine's network. Target: launcher idle < 1.5 GB RSS.

    .venv/bin/python bench/airflow_memory.py [--calls 100000] [--idle-seconds 30]
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psutil
from scratch import parser, scratch_database

REPO = Path(__file__).resolve().parents[1]
READY_TIMEOUT = 300
MB = 1024 * 1024


def tree_memory(root: psutil.Process) -> tuple[float, float, int]:
    """(RSS MB, PSS MB, processes) summed over ``root`` and all its descendants."""
    rss = pss = 0
    processes = [root, *root.children(recursive=True)]
    for process in processes:
        try:
            info = process.memory_full_info()
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        rss, pss = rss + info.rss, pss + info.pss
    return rss / MB, pss / MB, len(processes)


def sample(root: psutil.Process, seconds: float) -> list[tuple[float, float, int]]:
    samples = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        samples.append(tree_memory(root))
        time.sleep(1)
    return samples


def report(label: str, samples: list[tuple[float, float, int]]) -> float:
    rss = statistics.median(s[0] for s in samples)
    pss = statistics.median(s[1] for s in samples)
    peak = max(s[0] for s in samples)
    count = max(s[2] for s in samples)
    print(
        f"{label:<44} RSS median {rss:7.0f} MB (peak {peak:6.0f})  PSS {pss:6.0f} MB"
        f"  {count:3d} processes"
    )
    return rss


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_healthy(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"exited with {process.returncode} before it was healthy")
        try:
            health = httpx.get(f"{url}/api/v2/monitor/health", timeout=5).json()
            parts = ("scheduler", "triggerer", "dag_processor")
            if all((health.get(p) or {}).get("status") == "healthy" for p in parts):
                return
        except (httpx.HTTPError, ValueError):
            pass
        time.sleep(2)
    raise SystemExit(f"not healthy after {READY_TIMEOUT} s")


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the whole tree, by pid; SIGKILL what is left after 60 s."""
    family = [psutil.Process(process.pid)]
    family += family[0].children(recursive=True)
    for member in family:
        member.terminate()
    _, alive = psutil.wait_procs(family, timeout=60)
    for member in alive:
        member.kill()


def measure_launcher(url: str, home: Path, idle_seconds: float) -> None:
    port = free_port()
    env = {**os.environ, "BOOKING_GUARD_DATABASE_URL": url, "BOOKING_GUARD_FULL_SCAN_AT": ""}
    env["BOOKING_GUARD_GX_DIR"] = str(home / "gx")
    command = [sys.executable, "-m", "booking_guard.airflow.standalone", "--project", str(REPO)]
    command += ["--home", str(home), "--port", str(port), "--env-file", str(home / "none")]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
    try:
        api = f"http://127.0.0.1:{port}"
        wait_healthy(api, process)
        root = psutil.Process(process.pid)
        password = json.loads((home / "simple_auth_manager_passwords.json").read_text())["admin"]
        token = httpx.post(
            f"{api}/auth/token", json={"username": "admin", "password": password}, timeout=60
        ).json()["access_token"]
        client = httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=60)
        runs = f"{api}/api/v2/dags/consistency_monitor/dagRuns"
        # Idle: after the first scheduled run (catch-up is off, it starts at once) has finished.
        while any(r["state"] in ("queued", "running") for r in client.get(runs).json()["dag_runs"]):
            time.sleep(2)
        time.sleep(10)
        report("make airflow, idle", sample(root, idle_seconds))
        run = client.post(runs, json={"logical_date": None, "conf": {"full": True}}).json()
        samples, state = [], "queued"
        while state not in ("success", "failed"):
            samples += sample(root, 2)
            state = client.get(f"{runs}/{run['dag_run_id']}").json()["state"]
        report(f"make airflow, during a full monitor run ({state})", samples)
    finally:
        stop(process)


def measure_untuned(home: Path, idle_seconds: float) -> None:
    port = free_port()
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        # Only what it needs to run on another port; everything else as it comes.
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://localhost:{port}/execution/",
        # It starts its components as `airflow` from the PATH.
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    }
    airflow = str(Path(sys.executable).with_name("airflow"))
    # Its own network namespace, loopback only: what it binds to every interface stays there.
    command = ["unshare", "--net", "sh", "-c", f"ip link set lo up && exec {airflow} standalone"]
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
    )
    try:
        root = psutil.Process(process.pid)
        # Its health endpoint is inside the namespace: ready once no process has come or gone
        # for 30 s (the 32 LocalExecutor workers and both log servers start in the first minute).
        counts: list[int] = []
        deadline = time.monotonic() + READY_TIMEOUT
        while len(counts) < 6 or len(set(counts[-6:])) > 1 or counts[-1] < 10:
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("airflow standalone exited or never settled")
            counts.append(tree_memory(root)[2])
            time.sleep(5)
        report("airflow standalone (untuned), idle", sample(root, idle_seconds))
    finally:
        stop(process)


def main() -> None:
    options = parser(__doc__)
    options.set_defaults(calls=100_000)
    options.add_argument("--idle-seconds", type=float, default=30)
    args = options.parse_args()
    with scratch_database(args.server, calls=args.calls) as url:
        work = Path(tempfile.mkdtemp(prefix="bg_bench_airflow_"))
        try:
            measure_launcher(url, work / "launcher", args.idle_seconds)
            measure_untuned(work / "untuned", args.idle_seconds)
        finally:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
