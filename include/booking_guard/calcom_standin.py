"""A local Cal.com stand-in: ``POST /v2/bookings`` on 127.0.0.1, with faults to switch on.

The booking path runs against it for real (HTTP, sockets, timeouts) in the tests and the demo.
Faults (each for the next ``times`` bookings, or until cleared when ``times`` is None):

- ``latency``: seconds to wait before answering (slow but fine, or past the client's timeout);
- ``status``: answer with this HTTP status (503, 500, 409 …) and book nothing;
- ``hang``: accept the request and never answer (until the stand-in stops);
- ``lose``: book the slot, then drop the connection without an answer — accepted but lost.

In the same process, set them with ``stand_in.set_faults(...)``; from another process,
``POST /_standin/faults`` with the same fields as JSON. ``GET /_standin/state`` returns the
bookings held and the requests seen. Run alone: ``python -m booking_guard.calcom_standin --port N``.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import signal
import socket
import threading
import uuid
from dataclasses import asdict, dataclass, fields
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

BOOKING_MINUTES = 30


@dataclass
class Faults:
    latency: float = 0.0
    status: int | None = None
    hang: bool = False
    lose: bool = False
    times: int | None = None


class CalcomStandIn:
    """The stand-in server, serving on a thread from construction until ``close()``."""

    def __init__(self, port: int = 0) -> None:
        self.faults = Faults()
        self.bookings: dict[str, dict[str, Any]] = {}
        self.requests = 0
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self.server = ThreadingHTTPServer(("127.0.0.1", port), _handler(self))
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def set_faults(self, **changes: Any) -> Faults:
        """Replace the faults (fields not given are cleared)."""
        with self._lock:
            self.faults = Faults(**changes)
            return self.faults

    def state(self) -> dict[str, Any]:
        with self._lock:
            return {
                "requests": self.requests,
                "bookings": list(self.bookings.values()),
                "faults": asdict(self.faults),
            }

    def _take_faults(self) -> Faults:
        """The faults for this request, counting down ``times``."""
        with self._lock:
            self.requests += 1
            current = self.faults
            if current.times is not None:
                left = current.times - 1
                self.faults = Faults(**{**asdict(current), "times": left}) if left else Faults()
            return current

    def _book(self, request: dict[str, Any]) -> dict[str, Any]:
        start = datetime.fromisoformat(request["start"])
        with self._lock:
            uid = uuid.uuid4().hex
            booking = {
                "id": next(self._ids),
                "uid": uid,
                "start": start.isoformat(),
                "end": (start + timedelta(minutes=BOOKING_MINUTES)).isoformat(),
                "status": "accepted",
                "eventTypeId": request.get("eventTypeId"),
                "metadata": request.get("metadata") or {},
            }
            self.bookings[uid] = booking
        return booking

    def close(self) -> None:
        self._stopping.set()  # hung handlers return
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(5)

    def __enter__(self) -> CalcomStandIn:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _handler(stand_in: CalcomStandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if self.path == "/_standin/faults":
                self._json(200, asdict(stand_in.set_faults(**json.loads(body or b"{}"))))
            elif self.path == "/v2/bookings":
                self._create(body)
            else:
                self._json(404, {"status": "error", "error": "not found"})

        def do_GET(self) -> None:
            if self.path == "/_standin/state":
                self._json(200, stand_in.state())
            else:
                self._json(404, {"status": "error", "error": "not found"})

        def _create(self, body: bytes) -> None:
            faults = stand_in._take_faults()
            if faults.hang:
                stand_in._stopping.wait()
                return self._drop()
            if faults.latency and stand_in._stopping.wait(faults.latency):
                return self._drop()
            if faults.status is not None:
                return self._json(faults.status, {"status": "error", "error": "stand-in fault"})
            if not self.headers.get("cal-api-version"):
                return self._json(400, {"status": "error", "error": "cal-api-version missing"})
            try:
                booking = stand_in._book(json.loads(body))
            except (ValueError, KeyError, TypeError):
                return self._json(400, {"status": "error", "error": "invalid booking"})
            if faults.lose:
                return self._drop()
            self._json(201, {"status": "success", "data": booking})

        def _json(self, status: int, payload: dict[str, Any]) -> None:
            data = json.dumps(payload).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except ConnectionError:  # the client gave up waiting (its read timeout)
                self.close_connection = True

        def _drop(self) -> None:
            """Close the connection without a byte of answer."""
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)

        def log_message(self, *args: Any) -> None:
            pass

    return Handler


def set_faults(url: str, **faults: Any) -> dict[str, Any]:
    """Switch the faults of a stand-in running in another process (the demo's)."""
    unknown = set(faults) - {f.name for f in fields(Faults)}
    if unknown:
        raise ValueError(f"unknown fault(s): {', '.join(sorted(unknown))}")
    response = httpx.post(f"{url.rstrip('/')}/_standin/faults", json=faults, timeout=5)
    response.raise_for_status()
    result: dict[str, Any] = response.json()
    return result


def standin_state(url: str) -> dict[str, Any]:
    """The bookings and requests of a stand-in running in another process."""
    response = httpx.get(f"{url.rstrip('/')}/_standin/state", timeout=5)
    response.raise_for_status()
    result: dict[str, Any] = response.json()
    return result


def main(argv: list[str] | None = None) -> None:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1 (0: any)")
    args = options.parse_args(argv)
    stand_in = CalcomStandIn(args.port)
    print(f"Cal.com stand-in on {stand_in.url}", flush=True)
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    with contextlib.suppress(KeyboardInterrupt):
        stopped.wait()
    stand_in.close()


if __name__ == "__main__":
    main()
