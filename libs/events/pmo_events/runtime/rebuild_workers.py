"""A rebuild spread over worker processes: one exported PostgreSQL snapshot, forked workers, their messages.

The process that runs a rebuild opens a REPEATABLE READ transaction, exports its snapshot
(`pg_export_snapshot`) and forks workers that import it (`SET TRANSACTION SNAPSHOT`) before reading: every
part of the rebuild sees exactly the same log. A worker writes its share in its own transaction and reports
by messages on a pipe (`imported`, progress, `done` or `failed`); a worker that dies has its transaction
rolled back by the server, and its share is failed by the process that started it.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import math
import multiprocessing
import os
import re
import signal
import weakref
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

#: What `pg_export_snapshot()` answers (e.g. `00000003-0000001B-1`): checked before it is spliced into SET.
_SNAPSHOT_ID = re.compile(r"[0-9A-F]+-[0-9A-F]+(-[0-9]+)?")


def pod_cpus() -> int:
    """The CPUs this process may use: its cgroup's quota (a pod's CPU limit; cgroup v2's `cpu.max`, else v1's
    `cpu.cfs_quota_us` / `cpu.cfs_period_us`) rounded up when set, else its affinity."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    quota = _cgroup_quota()
    if quota is None:
        return cpus
    return max(1, min(cpus, math.ceil(quota)))


def _cgroup_quota() -> float | None:
    """CPUs of the cgroup's quota, or None when unlimited or unreadable."""
    try:  # cgroup v2 ("max": unlimited)
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()
        return None if quota == "max" else int(quota) / int(period)
    except (OSError, ValueError, ZeroDivisionError):
        pass
    for controller in ("cpu", "cpu,cpuacct"):  # cgroup v1 (-1: unlimited)
        try:
            quota = Path(f"/sys/fs/cgroup/{controller}/cpu.cfs_quota_us").read_text().strip()
            period = Path(f"/sys/fs/cgroup/{controller}/cpu.cfs_period_us").read_text().strip()
            return None if int(quota) < 0 else int(quota) / int(period)
        except (OSError, ValueError, ZeroDivisionError):
            continue
    return None


async def export_snapshot(session: AsyncSession) -> str:
    """Make the session's transaction REPEATABLE READ and export its snapshot (PostgreSQL): call it first."""
    await session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    return str((await session.execute(text("SELECT pg_export_snapshot()"))).scalar_one())


async def import_snapshot(session: AsyncSession, snapshot: str) -> None:
    """Make the session's new transaction REPEATABLE READ, seeing exactly `snapshot` (from `export_snapshot`)."""
    if not _SNAPSHOT_ID.fullmatch(snapshot):
        raise ValueError(f"not a snapshot id: {snapshot!r}")
    await session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    await session.execute(text(f"SET TRANSACTION SNAPSHOT '{snapshot}'"))


class WorkerFailed(Exception):
    """A rebuild worker reported a failure, or ended without reporting `done` (killed, crashed)."""


class ForkedWorker:
    """A forked process running `work(send)` (a coroutine function) on its own event loop.

    Forked, not spawned: the worker starts at once with the modules and read models already imported (a
    spawned one would import them again, about a second of CPU). In the child the parent's signal handling
    is undone first (a loop's handlers would forward the child's signals to the parent's loop), and what the
    parent held is frozen from the collector (walking it would copy every page of it).
    """

    def __init__(self, work: Callable[[Callable[[Any], None]], Any], *, name: str) -> None:
        context = multiprocessing.get_context("fork")
        self._messages, sending = context.Pipe(duplex=False)
        _RECEIVING.add(self._messages)
        self.process = context.Process(target=_run, args=(work, sending), name=name, daemon=True)
        self.process.start()
        sending.close()
        self.done = False
        self.error: str | None = None

    def drain(self, on_message: Callable[[Any], None]) -> None:
        """Hand every message waiting on the pipe to `on_message` (without waiting); note `done` and `failed`."""
        try:
            while self._messages.poll():
                message = self._messages.recv()
                if message == "done":
                    self.done = True
                elif isinstance(message, tuple) and message[0] == "failed":
                    self.error = str(message[1])
                else:
                    on_message(message)
        except (EOFError, OSError):
            pass  # the worker has gone: `wait` says how

    async def until(self, reached: Callable[[], bool], on_message: Callable[[Any], None]) -> None:
        """Drain messages until `reached()` or the worker has ended; WorkerFailed if it failed or ended early."""
        while True:
            self.drain(on_message)
            if self.error is not None:
                raise WorkerFailed(self.error)
            if reached():
                return
            if not self.process.is_alive():
                self.drain(on_message)
                if reached():
                    return
                raise WorkerFailed(self.error or f"worker {self.process.name} ended with code {self.process.exitcode}")
            await asyncio.sleep(0.005)

    async def wait(self, on_message: Callable[[Any], None]) -> None:
        """Until the worker reports `done` and exits; WorkerFailed otherwise."""
        await self.until(lambda: self.done, on_message)
        await asyncio.to_thread(self.process.join)
        self._close()

    def stop(self) -> None:
        """End the worker now (its transaction is rolled back by the server) and reap it."""
        if self.process.is_alive():
            self.process.kill()
        self.process.join()
        self._close()

    def _close(self) -> None:
        _RECEIVING.discard(self._messages)
        self._messages.close()


#: The reading ends of the pipes of this process's workers. A worker forked later inherits them all: it closes
#: them first, so each pipe's reading end is the starting process's alone.
_RECEIVING: weakref.WeakSet[Connection] = weakref.WeakSet()


def _run(work: Callable[[Callable[[Any], None]], Any], sending: Connection) -> None:
    # Every reading end (this worker's and every earlier worker's) is the parent's alone: once the parent has
    # gone, each worker's next message (one per page folded) fails with a broken pipe, whatever workers were
    # forked after it, and the worker ends, its transaction rolled back.
    for receiving in list(_RECEIVING):
        receiving.close()
    _RECEIVING.clear()
    for number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(number, signal.SIG_DFL)
    signal.set_wakeup_fd(-1)
    gc.freeze()

    def send(message: Any) -> None:
        sending.send(message)

    try:
        asyncio.run(work(send))
    except BaseException as exc:
        with contextlib.suppress(OSError):
            send(("failed", f"{type(exc).__name__}: {exc}"))
        raise
    send("done")
