"""What the in-process benchmarks (`edge.py`, `bookpath.py`, `statusreport.py`) share: clients sent at once
under an optional profiler, CPU and wall time per request, the profile printed."""

from __future__ import annotations

import asyncio
import cProfile
import os
import pstats
import subprocess
import time
from collections.abc import Awaitable, Callable


async def measured_clients(
    client: Callable[[int], Awaitable[object]],
    requests: int,
    concurrency: int,
    profiler: cProfile.Profile | None,
    mark: Callable[[], object] = lambda: None,
) -> tuple[float, float, int]:
    """`concurrency` clients of `requests // concurrency` requests each, at once: process CPU and wall seconds per
    request, and how many requests. `mark` runs just before and just after them (inside the profile)."""
    per_client = requests // concurrency
    cpu, wall = time.process_time(), time.perf_counter()
    if profiler:
        profiler.enable()
    mark()
    await asyncio.gather(*(client(per_client) for _ in range(concurrency)))
    mark()
    if profiler:
        profiler.disable()
    done = per_client * concurrency
    return (time.process_time() - cpu) / done, (time.perf_counter() - wall) / done, done


def callgrind_toggle() -> Callable[[], None]:
    """Instrumentation on before the measured requests, off after them (under `valgrind --tool=callgrind
    --instr-atstart=no`): pass it as `measured_clients`' `mark`; divide the `Collected` instructions by the requests."""
    state = {"on": False}

    def mark() -> None:
        state["on"] = not state["on"]
        subprocess.run(["callgrind_control", "-i", "on" if state["on"] else "off", str(os.getpid())], check=True)

    return mark


def print_profile(profiler: cProfile.Profile | None, sort: str, top: int, dump: str | None) -> None:
    """The profile's `top` lines by `sort`, and its statistics written to `dump` if given."""
    if profiler:
        pstats.Stats(profiler).sort_stats(sort).print_stats(top)
        if dump:
            profiler.dump_stats(dump)


def load_average() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())
