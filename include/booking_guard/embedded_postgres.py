"""The monitored database on a laptop with nothing but Python: an embedded PostgreSQL.

When no database URL is set and nothing answers on 127.0.0.1:5432, the demo and the one-machine
Airflow use a real PostgreSQL run from the ``pgserver`` wheel (PyPI), its data in
``var/postgres`` (gitignored). It listens on 127.0.0.1 only, keeps running between commands,
and is stopped by ``stop`` (by the pid in its ``postmaster.pid``).

    python -m booking_guard.embedded_postgres url          # the URL to use, starting it if needed
    python -m booking_guard.embedded_postgres run -- CMD   # CMD with BOOKING_GUARD_DATABASE_URL
    python -m booking_guard.embedded_postgres stop
"""

from __future__ import annotations

import argparse
import os
import pwd
import signal
import socket
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from booking_guard.errors import BookingGuardError
from booking_guard.settings import DEFAULT_DATABASE_URL

DEFAULT_DATA_DIR = Path("var/postgres")
DATABASE = "booking_guard"
LOCAL_SERVER = ("127.0.0.1", 5432)
PREFERRED_PORT = 5433
# PostgreSQL refuses to run as root; pgserver creates this user for that case.
SERVER_USER = "pgserver"


@dataclass(frozen=True)
class Database:
    """The monitored database's URL, and whether this call started an embedded server for it."""

    url: str
    embedded: bool = False
    started: bool = False


def resolve(
    data_dir: Path = DEFAULT_DATA_DIR,
    env: Mapping[str, str] = os.environ,
    local_server: tuple[str, int] = LOCAL_SERVER,
) -> Database:
    """``BOOKING_GUARD_DATABASE_URL`` when set; the PostgreSQL on 127.0.0.1:5432 when it answers;
    otherwise the embedded server in ``data_dir``, started if it is not running."""
    if env.get("BOOKING_GUARD_DATABASE_URL"):
        return Database(env["BOOKING_GUARD_DATABASE_URL"])
    if _answers(local_server):
        return Database(DEFAULT_DATABASE_URL)
    running = _postmaster(data_dir) is not None
    return Database(start(data_dir), embedded=True, started=not running)


def start(data_dir: Path = DEFAULT_DATA_DIR) -> str:
    """Start the embedded server unless it runs; the URL of its ``booking_guard`` database.

    It listens on 127.0.0.1 only (port 5433, or a free one when that is taken), no Unix socket.
    """
    data_dir = data_dir.resolve()
    running = _postmaster(data_dir)
    if running is not None:
        return _url(running[1])
    binaries = _binaries()
    data_dir.mkdir(parents=True, exist_ok=True)
    user = _server_user(data_dir)
    if not (data_dir / "PG_VERSION").exists():
        _run(
            [
                binaries / "initdb",
                "-D",
                data_dir,
                "--auth=trust",
                "--encoding=UTF8",
                "-U",
                "postgres",
            ],
            user,
        )
    port = PREFERRED_PORT if not _answers(("127.0.0.1", PREFERRED_PORT)) else _free_port()
    options = f"-h 127.0.0.1 -p {port} -k ''"  # loopback only, no Unix socket
    log = data_dir / "server.log"
    _run([binaries / "pg_ctl", "-D", data_dir, "-w", "-l", log, "-o", options, "start"], user)
    return _url(port)


def stop(data_dir: Path = DEFAULT_DATA_DIR, timeout: float = 30) -> bool:
    """Fast-shutdown the embedded server (SIGINT to its postmaster); False if it was not running."""
    running = _postmaster(data_dir)
    if running is None:
        return False
    pid = running[0]
    os.kill(pid, signal.SIGINT)
    deadline = time.monotonic() + timeout
    while _alive(pid):
        if time.monotonic() > deadline:
            raise BookingGuardError(f"embedded PostgreSQL (pid {pid}) did not stop in {timeout} s")
        time.sleep(0.2)
    return True


def _url(port: int) -> str:
    return f"postgresql://postgres@127.0.0.1:{port}/{DATABASE}"


def _binaries() -> Path:
    """PostgreSQL's programs, as the ``pgserver`` wheel ships them."""
    try:
        with warnings.catch_warnings():  # pgserver's import warns about XDG_RUNTIME_DIR
            warnings.simplefilter("ignore")
            from pgserver._commands import POSTGRES_BIN_PATH
    except ImportError:
        raise BookingGuardError(
            "no PostgreSQL on 127.0.0.1:5432 and BOOKING_GUARD_DATABASE_URL is not set;"
            " install pgserver (requirements.txt) for an embedded one"
        ) from None
    return POSTGRES_BIN_PATH


def _run(command: list[str | Path], user: str | None) -> None:
    """Run initdb or pg_ctl; its output goes to a file (the server inherits what pg_ctl holds,
    so a pipe would never close)."""
    with tempfile.TemporaryFile("w+") as output:
        done = subprocess.run(  # noqa: S603 - PostgreSQL's own programs, fixed arguments
            [str(c) for c in command], stdout=output, stderr=output, user=user, check=False
        )
        if done.returncode:
            output.seek(0)
            lines = output.read().strip().splitlines() or ["no output"]
            raise BookingGuardError(f"embedded PostgreSQL: {Path(command[0]).name}: {lines[-1]}")


def _server_user(data_dir: Path) -> str | None:
    """PostgreSQL refuses to run as root: as root, the server runs as pgserver's own user."""
    if os.geteuid() != 0:
        return None
    from pgserver.utils import ensure_prefix_permissions, ensure_user_exists  # after _binaries

    ensure_user_exists(SERVER_USER)
    ensure_prefix_permissions(data_dir)
    entry = pwd.getpwnam(SERVER_USER)
    os.chown(data_dir, entry.pw_uid, entry.pw_gid)
    return SERVER_USER


def _postmaster(data_dir: Path) -> tuple[int, int] | None:
    """(pid, port) of the running server from ``postmaster.pid``; None when it is not running."""
    try:
        lines = (data_dir / "postmaster.pid").read_text().splitlines()
        pid, port = int(lines[0]), int(lines[3])
    except (FileNotFoundError, IndexError, ValueError):
        return None
    return (pid, port) if _alive(pid) else None


def _alive(pid: int) -> bool:
    """Whether the process exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1][:1]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _answers(address: tuple[str, int]) -> bool:
    try:
        with socket.create_connection(address, timeout=1):
            return True
    except OSError:
        return False


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m booking_guard.embedded_postgres")
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser(
        "url", help="print the database URL, starting the embedded server if needed"
    )
    run = commands.add_parser("run", help="run a command with BOOKING_GUARD_DATABASE_URL set")
    run.add_argument("argv", nargs=argparse.REMAINDER)
    commands.add_parser("stop", help="stop the embedded server")
    args = parser.parse_args(argv)
    try:
        if args.command == "stop":
            stopped = stop(args.data_dir)
            print("embedded PostgreSQL stopped" if stopped else "embedded PostgreSQL not running")
            return 0
        database = resolve(args.data_dir)
    except BookingGuardError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 3
    if database.started:
        print(f"embedded PostgreSQL started in {args.data_dir}", file=sys.stderr)
    if args.command == "url":
        print(database.url)
        return 0
    command = args.argv[1:] if args.argv[:1] == ["--"] else args.argv
    if not command:
        parser.error("run needs a command")
    os.environ["BOOKING_GUARD_DATABASE_URL"] = database.url
    os.execvp(command[0], command)  # noqa: S606 - the caller's own command, not a shell


if __name__ == "__main__":
    sys.exit(main())
