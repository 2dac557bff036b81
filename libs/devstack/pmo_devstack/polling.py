"""Waiting for a condition instead of sleeping: the one poll helper of tests and tools, sync and async.

`wait_until(check)` calls `check` (in threads and synchronous code); `eventually(check)` awaits it
when it is a coroutine (in asyncio tests). Both return the first truthy answer, count a refused
connection as "not yet" (a service may be restarting), and raise TimeoutError naming `what` and the
last answer when the time is up.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

Check = Callable[[], Any]


def wait_until(check: Check, what: str = "the condition", *, timeout: float = 45.0, interval: float = 0.1) -> Any:
    """Call `check` until it answers something truthy and return that."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = _attempt(check)
        if last and not isinstance(last, Exception):
            return last
        time.sleep(interval)
    raise TimeoutError(f"{what} not reached within {timeout:.0f}s (last: {last!r})")


async def eventually(
    check: Callable[[], Any | Awaitable[Any]],
    what: str = "the condition",
    *,
    timeout: float = 45.0,
    interval: float = 0.05,
) -> Any:
    """`wait_until` for asyncio: `check` may be a coroutine function; the loop keeps running meanwhile."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = _attempt(check)
        if inspect.isawaitable(last):
            try:
                last = await last
            except httpx.TransportError as exc:
                last = exc
        if last and not isinstance(last, Exception):
            return last
        await asyncio.sleep(interval)
    raise TimeoutError(f"{what} not reached within {timeout:.0f}s (last: {last!r})")


def _attempt(check: Check) -> Any:
    try:
        return check()
    except httpx.TransportError as exc:
        return exc
