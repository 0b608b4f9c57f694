"""Call timeouts without signals: the operation runs on a reused daemon thread, the caller waits.

Airflow's task timeout uses SIGALRM and only the main thread may own it, so the breaker cannot;
a hung operation cannot be killed from outside either, so the caller stops waiting and its thread
is left to finish on its own (it never blocks interpreter exit: the threads are daemons). Give the
HTTP client a timeout a little below the breaker's, so the request itself is abandoned and the
thread comes back; the breaker's timeout is the backstop for what the client's does not cover.

The handoff is two ``queue.SimpleQueue`` (implemented in C): the worker's job queue and a queue
per call for the outcome, so an outcome that arrives after its caller gave up is never read by
another call. It costs two thread wake-ups per call (about 10 µs on a shared 2-core machine).
"""

from __future__ import annotations

import os
import queue
import threading
import weakref
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

T = TypeVar("T")
# The operation's result (True, value) or exception (False, exc).
Outcome = tuple[bool, Any]
Job = tuple[Callable[..., Any], tuple[Any, ...], Mapping[str, Any], "queue.SimpleQueue[Outcome]"]
_POOLS: weakref.WeakSet[WorkerPool] = weakref.WeakSet()  # emptied in a forked child


class CallTimedOut(TimeoutError):
    """The pool stopped waiting (told apart from a TimeoutError the operation raised itself)."""


class _Worker:
    def __init__(self, pool: WorkerPool) -> None:
        self.pool = pool
        self.jobs: queue.SimpleQueue[Job] = queue.SimpleQueue()
        threading.Thread(target=self._loop, name="circuit-breaker-call", daemon=True).start()

    def _loop(self) -> None:
        while True:
            fn, args, kwargs, reply = self.jobs.get()
            outcome: Outcome
            try:
                outcome = (True, fn(*args, **kwargs))
            except BaseException as exc:  # handed to the caller unchanged
                outcome = (False, exc)
            # Idle again before the caller wakes: its next call finds this thread, not an empty
            # pool (which would start a new thread).
            self.pool._idle.append(self)
            reply.put(outcome)
            del fn, args, kwargs, reply, outcome  # hold nothing of the call while idle


class WorkerPool:
    """Idle daemon threads, one taken per call and returned when its call ends."""

    def __init__(self) -> None:
        self._idle: list[_Worker] = []
        _POOLS.add(self)

    def _forked(self) -> None:
        """In a forked child: only the forking thread exists; a call handed to an idle worker
        of the parent would wait for a thread that is not there, time out and count as a
        failure without the operation ever running."""
        self._idle = []

    def run(
        self, fn: Callable[..., T], args: tuple[Any, ...], kwargs: Mapping[str, Any], timeout: float
    ) -> T:
        """``fn(*args, **kwargs)``; raises ``CallTimedOut`` when it has not ended in ``timeout``."""
        try:
            worker = self._idle.pop()
        except IndexError:
            worker = _Worker(self)
        reply: queue.SimpleQueue[Outcome] = queue.SimpleQueue()
        worker.jobs.put((fn, args, kwargs, reply))
        try:
            ok, value = reply.get(timeout=timeout)
        except queue.Empty:
            raise CallTimedOut from None
        if ok:
            result: T = value
            return result
        raise value


def _after_fork_in_child() -> None:
    for pool in list(_POOLS):
        pool._forked()


os.register_at_fork(after_in_child=_after_fork_in_child)
