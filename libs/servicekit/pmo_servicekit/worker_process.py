"""A process of one worker for work whose libraries would otherwise stay in the service's memory for good.

A library imported once stays imported: scipy's MILP solver (portfolio's scenarios) or matplotlib (reporting's
charts) would keep some 50-80 MB in the service process after their first use. A `WorkerProcess` runs such
calls in a process of its own: spawned (nothing of the service is inherited) on first use, started again if it
died, and gone when the service process is gone (even killed) or after `idle_seconds` without a call
(`PMO_WORKER_IDLE_SECONDS`, set by `create_app`; 0 = never), so its memory is given back while unused. A
call that meets a process that just died or left is made once more, in a new one. A call that takes longer
than `timeout_seconds` (`PMO_WORKER_TIMEOUT_SECONDS`, default 120) ends the process (the next call starts a
new one) and raises `WorkerTimeout`, a 503 problem: a hung drawing or solve no longer blocks every call after it.
That limit counts the call's own run: a call that starts a process first waits (up to `START_SECONDS`) for it to
be spawned and warmed up, which on a loaded machine can take seconds.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import multiprocessing
import os
import threading
import time
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from pmo_servicekit.problems import Problem

log = logging.getLogger(__name__)

#: Seconds a worker process waits for a call before it exits (0: it stays); `create_app` sets it from settings.
IDLE_SECONDS = 600.0
#: Seconds a call may take before its worker process is ended (`create_app` sets it from settings).
TIMEOUT_SECONDS = 120.0
#: Seconds a new worker process may take to start and warm up (imports) before the call waiting for it fails
#: (503, the process ended); fixed, and also with no time limit on calls (`PMO_WORKER_TIMEOUT_SECONDS=0`).
START_SECONDS = 120.0

# In the worker process: when the last call ended (monotonic), and whether one is running.
_last_call = time.monotonic()
_busy = False


class WorkerTimeout(Problem):
    """A call took longer than its worker process's time limit; that process was ended."""

    def __init__(self, name: str, seconds: float) -> None:
        super().__init__(
            503,
            "unavailable",
            f"the {name} process took longer than {seconds:g} s and was stopped; retry shortly",
            headers={"Retry-After": "5"},
        )


class WorkerProcess:
    """`module.function(*args)` run in a process of one worker, spawned on first use."""

    def __init__(
        self,
        name: str,
        warm_up: tuple[str, str] | None = None,
        idle_seconds: float | None = None,
        timeout_seconds: float | None = None,
    ) -> None:
        self.name = name
        self._timeout_seconds = timeout_seconds
        #: (module, function) the new process runs first (imports), while the first call waits behind it.
        self.warm_up = warm_up
        self._idle_seconds = idle_seconds
        self._pool: ProcessPoolExecutor | None = None
        #: The new process's first task (the warm-up, or a bare `os.getpid`): done once it is up and warm.
        self._started: Future[Any] | None = None
        self._lock = threading.Lock()
        #: One call at a time, so that a call's time limit counts its own run, not the calls queued before it,
        #: and a process ended for one hung call takes no other caller's call with it.
        self._calls = threading.Lock()

    @property
    def idle_seconds(self) -> float:
        return IDLE_SECONDS if self._idle_seconds is None else self._idle_seconds

    @property
    def timeout_seconds(self) -> float:
        return TIMEOUT_SECONDS if self._timeout_seconds is None else self._timeout_seconds

    def pool(self) -> ProcessPoolExecutor:
        """The pool of one process, started if there is none."""
        with self._lock:
            if self._pool is None:
                self._pool = ProcessPoolExecutor(
                    max_workers=1,
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=_watch,
                    initargs=(os.getpid(), self.idle_seconds),
                )
                self._started = self._pool.submit(_call, *(self.warm_up or ("os", "getpid")))
            return self._pool

    def call(self, module: str, function: str, *args: Any) -> Any:
        """`module.function(*args)` in the worker process (blocks the calling thread until it is done; calls
        run one after another)."""
        with self._calls:
            pool, future = self._submit(module, function, *args)
            try:
                return self._result(pool, future)
            except BrokenProcessPool:  # it died (or left, idle) with the call: once more, in a new process
                self._forget(pool)
                return self._result(*self._submit(module, function, *args))

    def _result(self, pool: ProcessPoolExecutor, future: Future[Any]) -> Any:
        try:
            return future.result(timeout=self.timeout_seconds or None)
        except TimeoutError:  # hung (or far too slow): end the process, the next call starts a new one
            for process in list((getattr(pool, "_processes", None) or {}).values()):
                process.kill()
            self._forget(pool)
            raise WorkerTimeout(self.name, self.timeout_seconds) from None

    async def run(self, module: str, function: str, *args: Any) -> Any:
        """`call`, the event loop waiting in a thread."""
        return await asyncio.to_thread(self.call, module, function, *args)

    def close(self) -> None:
        """Stop the worker process (a new one is started on next use)."""
        with self._lock:
            pool = self._pool
        if pool is not None:
            self._forget(pool)

    def _submit(self, module: str, function: str, *args: Any) -> tuple[ProcessPoolExecutor, Future[Any]]:
        pool = self._started_pool()
        try:
            return pool, pool.submit(_call, module, function, *args)
        except (BrokenProcessPool, RuntimeError):  # the process died (or the pool was shut down): a new one
            self._forget(pool)
            pool = self._started_pool()
            return pool, pool.submit(_call, module, function, *args)

    def _started_pool(self) -> ProcessPoolExecutor:
        """The pool, once its process is up and warm: spawning and the warm-up's imports are not part of the
        time limit of the call that waits for them (`START_SECONDS` bounds them instead)."""
        pool = self.pool()
        with self._lock:
            started = self._started if self._pool is pool else None
        if started is None or started.done():
            return pool
        try:
            started.result(timeout=START_SECONDS)
        except TimeoutError:  # a process that cannot even start: end it, as a hung call's
            for process in list((getattr(pool, "_processes", None) or {}).values()):
                process.kill()
            self._forget(pool)
            raise WorkerTimeout(self.name, START_SECONDS) from None
        except BrokenProcessPool:  # died while starting: the call's own submit meets it and starts a new one
            pass
        except Exception as error:  # a warm-up that failed warms nothing; the call imports what it needs itself
            log.warning("%s process: its warm-up failed (%s); the call loads what it needs itself", self.name, error)
        return pool

    def _forget(self, pool: ProcessPoolExecutor) -> None:
        with self._lock:
            if self._pool is pool:
                self._pool = None
        pool.shutdown(wait=False, cancel_futures=True)


def _watch(parent: int, idle_seconds: float) -> None:
    """In the worker process: exit when the service process is gone, or after `idle_seconds` without a call."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(min(1.0, idle_seconds) if idle_seconds > 0 else 1.0)
            if idle_seconds > 0 and not _busy and time.monotonic() - _last_call > idle_seconds:
                break
        os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _call(module: str, function: str, *args: Any) -> Any:
    """In the worker process: `module.function(*args)`."""
    global _busy, _last_call
    _busy = True
    try:
        return getattr(importlib.import_module(module), function)(*args)
    finally:
        _busy = False
        _last_call = time.monotonic()
