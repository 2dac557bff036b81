"""Waiting for the stack to catch up: poll a check over HTTP until it holds (services may be restarting)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx


def wait_until(
    check: Callable[[], Any], what: str = "the condition", *, timeout: float = 45.0, interval: float = 0.1
) -> Any:
    """Call `check` until it answers something truthy and return that; a refused connection counts as
    not yet. Raises TimeoutError naming `what` and the last answer."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = check()
        except httpx.TransportError as exc:
            last = exc
        else:
            if last:
                return last
        time.sleep(interval)
    raise TimeoutError(f"{what} not reached within {timeout:.0f}s (last: {last!r})")
