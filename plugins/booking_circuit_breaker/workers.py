"""Call timeouts without signals: the operation runs on a reused daemon thread, the caller waits.

Airflow's task timeout uses SIGALRM and only the main thread may own it, so the breaker cannot;
a hung operation cannot be killed from outside either, so the caller stops waiting and its thread
is left to finish on its own (it never blocks interpreter exit: the threads are daemons). Give the
HTTP client a timeout a little below the breaker's, so the request itself is abandoned and the
thread comes back; the breaker's timeout is the backstop for what the client's does not cover.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class _Job(Generic[T]):
    __slots__ = ("args", "done", "error", "fn", "kwargs", "result")

    def __init__(
        self, fn: Callable[..., T], args: tuple[Any, ...], kwargs: Mapping[str, Any]
    ) -> None:
        self.fn, self.args, self.kwargs = fn, args, kwargs
        self.result: T  # set by the worker unless it sets ``error``
        self.error: BaseException | None = None
        self.done = threading.Lock()
        self.done.acquire()


class _Worker:
    def __init__(self, pool: WorkerPool) -> None:
        self.pool = pool
        self.job: _Job[Any] | None = None
        self.ready = threading.Lock()
        self.ready.acquire()
        threading.Thread(target=self._loop, name="circuit-breaker-call", daemon=True).start()

    def _loop(self) -> None:
        while True:
            self.ready.acquire()
            job, self.job = self.job, None
            if job is None:
                raise RuntimeError("a worker is woken only after it was given a job")
            try:
                job.result = job.fn(*job.args, **job.kwargs)
            except BaseException as exc:  # handed to the caller unchanged
                job.error = exc
            job.done.release()
            self.pool._idle.append(self)


class WorkerPool:
    """Idle daemon threads, one taken per call and returned when its call ends."""

    def __init__(self) -> None:
        self._idle: list[_Worker] = []

    def run(
        self, fn: Callable[..., T], args: tuple[Any, ...], kwargs: Mapping[str, Any], timeout: float
    ) -> T:
        """``fn(*args, **kwargs)``; raises TimeoutError when it has not ended within ``timeout``."""
        try:
            worker = self._idle.pop()
        except IndexError:
            worker = _Worker(self)
        job = _Job(fn, args, kwargs)
        worker.job = job
        worker.ready.release()
        if not job.done.acquire(timeout=timeout):
            raise TimeoutError
        if job.error is not None:
            error, job.error = job.error, None
            raise error
        return job.result
