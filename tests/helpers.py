"""Helpers shared by the tests: SQL one-liners, the CLI as a subprocess, the Slack stand-in.

Fixtures live in ``conftest.py``; everything a test imports lives here.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import psycopg
import redis

from booking_guard.seed import SeedSpec

REPO = Path(__file__).resolve().parents[1]


def query(url: str, sql: str, params: tuple = (), *, triggers: bool = True) -> list[tuple]:
    """Run one statement in its own committed transaction; its rows, if it returns any.

    ``triggers=False`` writes as a bulk import does (``session_replication_role = replica``):
    the way defects get past the database triggers for the monitor to find.
    """
    with psycopg.connect(url) as conn:
        if not triggers:
            conn.execute("SET LOCAL session_replication_role = replica")
        cursor = conn.execute(sql, params)
        return cursor.fetchall() if cursor.description else []


def plant(url: str, sql: str, params: tuple = ()) -> list[tuple]:
    """Write defective rows past the triggers, as an import with triggers off would."""
    return query(url, sql, params, triggers=False)


ANCHOR = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
# The group roles of migration 0004 that production logins are members of.
ROLE_GROUPS = ("app", "monitor", "corrector")

SPEC = SeedSpec(calls=20_000, companies=3, days=10, defect_rate=0.1, random_seed=7, anchor=ANCHOR)


def cli(
    *args: str, url: str | None = None, timeout: float = 300, env: dict | None = None
) -> subprocess.CompletedProcess:
    """``booking-guard [--database-url URL] ARGS…`` as a user runs it: a real process."""
    command = [sys.executable, "-m", "booking_guard"]
    if url:
        command += ["--database-url", url]
    return subprocess.run(
        [*command, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


class SlackStandIn:
    """A real HTTP server on 127.0.0.1 that records what a Slack incoming webhook receives."""

    def __init__(self) -> None:
        self.received: list[dict] = []
        self.status = 200
        self.delay = 0.0  # seconds before answering: a hung Slack
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                stand_in.received.append(json.loads(body))
                time.sleep(stand_in.delay)
                self.send_response(stand_in.status)
                self.end_headers()
                self.wfile.write(b"ok" if stand_in.status == 200 else b"server_error")

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/services/T0/B0/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def texts(self) -> list[str]:
        return [m.get("text", "") for m in self.received]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class RedisServer:
    """A redis-server of a test's own, on a free port, started and stopped by pid."""

    def __init__(self) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None
        self.start()

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
        )
        client = redis.Redis(port=self.port)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.02)
        client.close()

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(10)
            self.process = None

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, decode_responses=True)
