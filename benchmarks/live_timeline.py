"""Where a catch-up's wall time goes: `live.py`'s catch-up of one service with its subscription's steps stamped.

Runs `live.catch_up` (the same history, broker, fresh database) with the subscription's steps wrapped: the
consumer's start, each fetch (`_fetch`) and read-ahead (`getmany(timeout_ms=0)`), each check (in the checker
thread or on the loop), each wait for a check (`_checked_so_far`) and each transaction (`_apply_batch`), and
each collection of the cyclic collector's older generations. Prints
each run's timeline (ms from `run`) and the sums: how long the event loop waited for a fetch or a check with no
transaction open, and how long a transaction ran with no check and no fetch beside it (what a pipeline could
still overlap).

    .venv/bin/python benchmarks/live_timeline.py [--service intake] [--scale 0.1] [--repeat 2] [--quiet]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from live import SERVICES, catch_up, consumed, publish

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "services" / "reporting" / "benchmarks"))

from history import STATUS_REPORTED, generate, scaled

from pmo_devstack.broker import start_broker
from pmo_devstack.keys import PUBLISHERS, ensure_event_keys
from pmo_events.runtime import subscription as sub

MARKS: list[tuple[float, float, str, str]] = []  # (start, end, what, detail)
T0 = [0.0]


def _mark(start: float, what: str, detail: str = "") -> None:
    MARKS.append((start - T0[0], time.perf_counter() - T0[0], what, detail))


_GC_STARTED = [0.0, 0.0]
#: The cyclic collector's thread CPU by generation, in this run.
GC_CPU = [0.0, 0.0, 0.0]


def _on_gc(phase: str, info: dict[str, Any]) -> None:
    """Each collection of generation 1 or 2 (and a young one over 2 ms) as a mark of its own."""
    if phase == "start":
        _GC_STARTED[0], _GC_STARTED[1] = time.perf_counter(), time.thread_time()
        return
    GC_CPU[info["generation"]] += time.thread_time() - _GC_STARTED[1]
    if T0[0] and (info["generation"] or time.perf_counter() - _GC_STARTED[0] > 0.002):
        _mark(_GC_STARTED[0], "gc", f"generation {info['generation']}, {info['collected']} collected")


def instrument() -> None:
    gc.callbacks.append(_on_gc)
    cls = sub.Subscription
    run, start_consumer, fetch, check = cls.run, cls._start_consumer, cls._fetch, cls._check
    checked_so_far, apply_batch = cls._checked_so_far, cls._apply_batch

    async def run_(self: Any) -> None:
        T0[0] = time.perf_counter()
        MARKS.clear()
        GC_CPU[:] = [0.0, 0.0, 0.0]
        await run(self)

    async def start_consumer_(self: Any) -> None:
        t = time.perf_counter()
        await start_consumer(self)
        _mark(t, "start")
        consumer = self._consumer
        getmany = consumer.getmany

        async def getmany_(*args: Any, **kwargs: Any) -> Any:
            t = time.perf_counter()
            got = await getmany(*args, **kwargs)
            if kwargs.get("timeout_ms") == 0:
                _mark(t, "ahead", str(sum(map(len, got.values()))))
            return got

        consumer.getmany = getmany_

    async def fetch_(self: Any, consumer: Any, timeout_ms: int) -> Any:
        t = time.perf_counter()
        got = await fetch(self, consumer, timeout_ms)
        _mark(t, "fetch", str(sum(map(len, got.values()))))
        return got

    def check_(self: Any, batch: Any) -> Any:
        t = time.perf_counter()
        out = check(self, batch)
        where = "loop" if threading.current_thread() is threading.main_thread() else "thread"
        _mark(t, "check", f"{sum(map(len, batch.values()))} {where}")
        return out

    async def checked_so_far_(self: Any, pending: Any) -> Any:
        t = time.perf_counter()
        out = await checked_so_far(self, pending)
        _mark(t, "wait", "")
        return out

    async def apply_batch_(self: Any, batch: Any, checked: Any) -> None:
        t = time.perf_counter()
        await apply_batch(self, batch, checked)
        _mark(t, "apply", str(sum(map(len, batch.values()))))

    cls.run, cls._start_consumer, cls._fetch, cls._check = run_, start_consumer_, fetch_, check_  # type: ignore[method-assign]
    cls._checked_so_far, cls._apply_batch = checked_so_far_, apply_batch_  # type: ignore[method-assign]


def _covered(spans: list[tuple[float, float]], start: float, end: float) -> float:
    """Of start..end, the time at least one of `spans` covers."""
    pieces = sorted((max(a, start), min(b, end)) for a, b in spans if b > start and a < end)
    total, at = 0.0, start
    for a, b in pieces:
        if b > at:
            total += b - max(a, at)
            at = b
    return total


def summary(seconds: float, quiet: bool) -> str:
    marks = sorted(MARKS)
    if not quiet:
        for a, b, what, detail in marks:
            print(f"    {1000 * a:8.1f} {1000 * b:8.1f} {1000 * (b - a):7.1f} {what:<6} {detail}")
    applies = [(a, b) for a, b, w, _ in marks if w == "apply"]
    checks = [(a, b) for a, b, w, _ in marks if w == "check"]
    fetches = [(a, b) for a, b, w, _ in marks if w in ("fetch", "ahead")]
    start = next((b for a, b, w, _ in marks if w == "start"), 0.0)
    first_apply = applies[0][0] if applies else seconds
    apply_total = sum(b - a for a, b in applies)
    apply_alone = sum((b - a) - _covered(checks + fetches, a, b) for a, b in applies)
    idle = (seconds - start) - _covered(applies, start, seconds)
    collections = [(a, b) for a, b, w, _ in marks if w == "gc"]
    return (
        f"  {seconds * 1000:.0f} ms: consumer start {start * 1000:.0f}, first transaction at {first_apply * 1000:.0f}; "
        f"{len(applies)} transactions {apply_total * 1000:.0f} ms (of it {apply_alone * 1000:.0f} with no check or "
        f"fetch beside); no transaction open after the start {idle * 1000:.0f} ms; checks "
        f"{sum(b - a for a, b in checks) * 1000:.0f} ms in {len(checks)}; "
        f"collections (generation 1 and 2, young over 2 ms) "
        f"{sum(b - a for a, b in collections) * 1000:.0f} ms in {len(collections)}; the collector's CPU by generation "
        f"{', '.join(f'{1000 * t:.0f}' for t in GC_CPU)} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--service", choices=list(SERVICES), default="intake")
    parser.add_argument("--scale", type=float, default=0.1)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--quiet", action="store_true", help="sums only, no timeline")
    args = parser.parse_args()
    history = [event for event in generate(scaled(args.scale)) if event.type != STATUS_REPORTED]
    definition = SERVICES[args.service]
    instrument()
    broker = start_broker()
    try:
        with tempfile.TemporaryDirectory() as folder:
            data_dir = Path(folder)
            ensure_event_keys(data_dir, PUBLISHERS)
            asyncio.run(publish(broker.bootstrap_servers, history, data_dir))
            gc.collect()  # as `live.py` does: the history out of the collector's way
            gc.freeze()
            for _ in range(args.repeat):
                expected = consumed(definition, history)
                bootstrap = broker.bootstrap_servers
                run = asyncio.run(catch_up(bootstrap, data_dir, expected, "batch", definition, history=history))
                print(f"{args.service}: {run['rate']:,.0f} events/s, load {os.getloadavg()[0]:.1f}")
                print(summary(run["seconds"], args.quiet))
    finally:
        broker.stop()


if __name__ == "__main__":
    main()
