"""The supervisor: keeps the relay and the subscription running, restarting whatever ends, and says how long
each part has been disconnected (readiness) and whether it is itself still turning (liveness)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)


@dataclass
class LinkStatus:
    """Whether a part is connected to the broker, since when, and why not."""

    connected: bool = False
    last_error: str | None = None
    #: `time.monotonic()` of the last change of `connected`.
    changed_at: float = field(default_factory=time.monotonic)

    def link_up(self) -> None:
        if not self.connected:
            self.connected, self.changed_at = True, time.monotonic()
        self.last_error = None

    def link_down(self, error: str | None = None) -> None:
        if self.connected:
            self.connected, self.changed_at = False, time.monotonic()
        if error is not None:
            self.last_error = error

    def down_for(self, now: float | None = None) -> float:
        """Seconds since the part was last connected (0 while it is)."""
        return 0.0 if self.connected else (now if now is not None else time.monotonic()) - self.changed_at


def really_cancelled() -> bool:
    """True when someone cancelled the running task (a shutdown), not when a library's internal future was
    cancelled under us (aiokafka does that when the broker dies): only the first is a reason to end."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


@dataclass
class _Part:
    name: str
    factory: Callable[[], Coroutine[Any, Any, None]]
    task: asyncio.Task[None] | None = None
    started_at: float = 0.0
    restarts: int = 0
    failures_in_a_row: int = 0
    restart_at: float | None = None
    last_exit: str | None = None
    #: The part has no stop of its own (a loop that sleeps between rounds): `stop()` cancels it at once
    #: instead of waiting the grace for an end that never comes.
    cancel_at_stop: bool = False


class Supervisor:
    """Runs named parts as tasks and restarts any that ends, for any reason, until `stop()`."""

    def __init__(self, *, name: str, tick: float = 0.5, max_backoff: float = 5.0, healthy_after: float = 30.0):
        self.name = name
        self.tick = tick
        self.max_backoff = max_backoff
        self.healthy_after = healthy_after
        self.heartbeat = time.monotonic()
        self._parts: dict[str, _Part] = {}
        self._watcher: asyncio.Task[None] | None = None
        self._stopping = False
        self._wake = asyncio.Event()

    def add(self, name: str, factory: Callable[[], Coroutine[Any, Any, None]], *, cancel_at_stop: bool = False) -> None:
        """`cancel_at_stop`: the part is not told to stop by anyone, so `stop()` cancels it without waiting."""
        self._parts[name] = _Part(name, factory, cancel_at_stop=cancel_at_stop)

    def restarts(self) -> dict[str, int]:
        return {name: part.restarts for name, part in self._parts.items()}

    def stuck(self, *, after: float = 30.0) -> str | None:
        """Why the supervisor is not doing its job, or None: its own task ended, or it stopped ticking."""
        if self._watcher is None or self._stopping:
            return None
        if self._watcher.done():
            return f"the supervisor ended: {_describe(self._watcher)}"
        silent = time.monotonic() - self.heartbeat
        return f"the supervisor has not run for {silent:.0f}s" if silent > after else None

    async def start(self) -> None:
        for part in self._parts.values():
            self._launch(part)
        self.heartbeat = time.monotonic()
        self._watcher = asyncio.create_task(self._watch(), name=f"{self.name}-supervisor")

    def stop_restarting(self) -> None:
        """From now on a part that ends stays ended (call before telling the parts to stop)."""
        self._stopping = True

    async def stop(self, *, grace: float) -> None:
        """No more restarts; wait up to `grace` for the parts (already told to stop) to end, then cancel."""
        self._stopping = True
        if self._watcher is not None:
            self._watcher.cancel()
            await asyncio.gather(self._watcher, return_exceptions=True)
        tasks = [p.task for p in self._parts.values() if p.task is not None]
        if not tasks:
            return
        for part in self._parts.values():
            if part.cancel_at_stop and part.task is not None:
                part.task.cancel()
        _done, pending = await asyncio.wait(tasks, timeout=grace)
        for task in pending:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _launch(self, part: _Part) -> None:
        part.task = asyncio.create_task(part.factory(), name=f"{self.name}-{part.name}")
        part.task.add_done_callback(lambda _task: self._wake.set())
        part.started_at = time.monotonic()
        part.restart_at = None

    async def _watch(self) -> None:
        while not self._stopping:
            self.heartbeat = now = time.monotonic()
            for part in self._parts.values():
                self._look_after(part, now)
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.tick)

    def _look_after(self, part: _Part, now: float) -> None:
        if part.task is None or not part.task.done():
            return
        if part.restart_at is None:
            ran_for = now - part.started_at
            part.failures_in_a_row = 1 if ran_for > self.healthy_after else part.failures_in_a_row + 1
            delay = min(0.2 * 2 ** (part.failures_in_a_row - 1), self.max_backoff)
            part.last_exit = _describe(part.task)
            part.restart_at = now + delay
            log.error(
                "supervisor %s: %s ended after %.1fs (%s); restarting in %.1fs",
                self.name,
                part.name,
                ran_for,
                part.last_exit,
                delay,
            )
        elif now >= part.restart_at:
            part.restarts += 1
            self._launch(part)


def _describe(task: asyncio.Task[None]) -> str:
    if task.cancelled():
        return "cancelled"
    exc = task.exception()
    return "returned" if exc is None else f"{type(exc).__name__}: {exc}"
