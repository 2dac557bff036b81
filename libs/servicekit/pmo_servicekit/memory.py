"""Memory a burst of events used, given back to the system once it is over (issue 17).

A catch-up (a republish, a burst, a service started behind) decodes polls of thousands of records; once
they are applied, C's allocator (glibc) keeps the freed memory for the process, so the RSS stays at the
burst's peak: 206 MB for reporting after 145,000 events, 163 MB once `malloc_trim` was called (intake 158
→ 144 MB, resourcing 147 → 140 MB). `give_back_after_bursts` looks every `CHECK_SECONDS` and, when at
least `AFTER_EVENTS` events were applied or published since it last gave memory back and the burst is over
(or, under a load that never pauses, `STEADY_CHECKS` checks have passed), asks the allocator to return its
free pages (in a thread: the call releases the GIL). Elsewhere than glibc it does nothing.
"""

from __future__ import annotations

import asyncio
import ctypes
import functools
import gc
from collections.abc import Awaitable, Callable

#: How often the process looks at how much it has consumed and published.
CHECK_SECONDS = 30.0
#: Events applied or published since memory was last given back that make it worth a `malloc_trim` (a few
#: ms for a 100 MB heap): a burst's worth, not a quiet minute's.
AFTER_EVENTS = 2000
#: Checks after which a load that never pauses is given back all the same (10 x 30 s: every 5 minutes).
STEADY_CHECKS = 10


def give_back_memory() -> bool:
    """Return the allocator's free memory to the system (glibc's `malloc_trim`); False where there is none."""
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    try:
        return ctypes.CDLL(None).malloc_trim
    except (AttributeError, OSError):
        return None


async def give_back_after_bursts(
    moved: Callable[[], int],
    *,
    every: float = CHECK_SECONDS,
    after: int = AFTER_EVENTS,
    steady_checks: int = STEADY_CHECKS,
    give_back: Callable[[], object] = give_back_memory,
    forget: Callable[[], object] = lambda: None,
    collect: Callable[[], object] = gc.collect,
    sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
) -> None:
    """Until cancelled: every `every` seconds, give memory back once `moved()` (events applied + published so
    far) grew by at least `after` since the last time and the burst is over (fewer than `after` in the last
    `every` seconds), or `steady_checks` checks have passed since the last time: a catch-up is trimmed once,
    at its end (a long one also every `steady_checks` checks), a slow trickle every `after` events, and a load
    that never pauses (at least `after` events every `every` seconds) every `steady_checks` checks; each time after
    `forget()` (what the burst's polls held for the next one: `CommandRuntime.forget_held`) and a full collection
    of cyclic garbage."""
    given = seen = moved()
    checks = 0
    while True:
        await sleep(every)
        now = moved()
        checks += 1
        if now - given >= after and (now - seen < after or checks >= steady_checks):
            given, checks = now, 0
            forget()
            # First the burst's cyclic garbage: once a burst is over little is allocated, so no collection comes
            # to free it (reporting after the ~200,000-event history: 326 MB after malloc_trim, 314 MB with a
            # full collection before it).
            collect()
            await asyncio.to_thread(give_back)
        seen = now
