"""Where a service's memory goes while the ~200,000-event history arrives live: CPython's allocator, in process.

Generates the reporting benchmark's PMO history (as `benchmarks/live_rss.py` does) and publishes the events on
the topics the chosen service consumes to an embedded Tansu broker, both in a process of its own, then runs that
service's runtime (its subscription, relay and the other supervised parts, as `serve` does, without HTTP) in
this process on a fresh PostgreSQL database until it has applied them. Portfolio's database first gets the
history's portfolios (as `live.py` does). Printed: the process's RSS before the runtime starts, its peak, after
the catch-up, after `malloc_trim`, after a full collection and after the states the polls held went too (as
the service's memory part does once a burst is over); the objects by type that are alive after it and were not
before; and pymalloc's own figures before and after (`sys._debugmallocstats`: arenas, bytes in allocated blocks, free
blocks in used pools, unused pools). Live bytes that barely grow while arenas and free blocks do is
fragmentation: pools and arenas kept for a few long-lived objects among the freed ones, which pymalloc never
gives back.

This process holds the generator's modules too (never the history: its freed pools would be reused), so only
the differences compare, and the same run under another allocator (`LD_PRELOAD=.../libjemalloc.so.2
PYTHONMALLOC=malloc`; pymalloc's figures are then not printed) or another `--max-records`.

    .venv/bin/python benchmarks/live_heap.py [--service portfolio] [--scale 1.53] [--max-records N] [--settle 5]
        [--connections] [--tracemalloc FRAMES]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import ctypes
import gc
import multiprocessing
import os
import sys
import tempfile
import time
import tracemalloc
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from live import SERVICES, publish, seed_portfolios
from load import rss_mb

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "services" / "reporting" / "benchmarks"))

from history import STATUS_REPORTED, generate, scaled

from pmo_devstack.batches import service_runtime
from pmo_devstack.broker import start_broker
from pmo_devstack.keys import PUBLISHERS, ensure_event_keys
from pmo_devstack.testing import create_database, drop_database
from pmo_events.contracts import TOPICS
from pmo_events.envelope import RecordedEvent
from pmo_events.runtime.schema import outbox

ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
PYMALLOC = os.environ.get("PYTHONMALLOC", "") not in ("malloc", "malloc_debug")


def trim() -> None:
    ctypes.CDLL(None).malloc_trim(0)


def rss() -> float:
    return rss_mb(os.getpid())


def by_type() -> collections.Counter[str]:
    return collections.Counter(type(o).__name__ for o in gc.get_objects())


def pymalloc_stats(when: str) -> None:
    """pymalloc's summary lines (it writes them to the C stderr)."""
    if PYMALLOC:
        print(f"pymalloc {when}:", flush=True)
        sys.stdout.flush()
        sys._debugmallocstats()  # type: ignore[attr-defined]
        sys.stderr.flush()


async def catch_up(
    args: argparse.Namespace, kept: list[RecordedEvent], bootstrap: str, data: Path, expected: int
) -> None:
    definition = SERVICES[args.service]
    url = await create_database(ADMIN, "pmo_bench")
    try:
        async with service_runtime(definition, url, bootstrap, data) as runtime:
            if args.service == "portfolio":
                print(f"portfolio seeded with {await seed_portfolios(runtime, kept)} portfolios", flush=True)
                async with runtime.db.transaction() as session:  # the history already holds these events
                    await session.execute(outbox.delete())
            kept.clear()
            subscription = runtime.subscription
            assert subscription is not None
            if args.max_records:
                subscription.max_records = args.max_records
            gc.collect()
            trim()
            print(f"RSS before the runtime starts: {rss():.0f} MB", flush=True)
            before = by_type()
            pymalloc_stats("before the runtime starts")
            if args.tracemalloc:
                tracemalloc.start(args.tracemalloc)
            await runtime.start()
            started, cpu, peak = time.perf_counter(), time.process_time(), 0.0
            while subscription.status.applied + subscription.status.dead_lettered < expected:
                await asyncio.sleep(0.5)
                peak = max(peak, rss())
            print(
                f"{expected:,} events applied in {time.perf_counter() - started:.0f} s"
                f" ({time.process_time() - cpu:.1f} s of process CPU, {subscription.status.dead_lettered} dead letters;"
                f" max_records"
                f" {subscription.max_records}): RSS {rss():.0f} MB, peak {peak:.0f} MB",
                flush=True,
            )
            await asyncio.sleep(args.settle)
            print(f"RSS {args.settle:g} s later: {rss():.0f} MB; relay published {runtime.relay.status.published}")
            trim()
            print(f"RSS after malloc_trim: {rss():.0f} MB")
            found = gc.collect()
            trim()
            print(f"RSS after a full collection ({found} objects in cycles) and malloc_trim: {rss():.0f} MB")
            runtime.commands.forget_held()
            found = gc.collect()
            trim()
            print(
                f"RSS after the polls' held states went (CommandRuntime.forget_held), a full collection ({found}"
                f" objects in cycles) and malloc_trim, as the memory part does: {rss():.0f} MB"
            )
            if args.connections:
                lender = runtime.db.lender
                if lender is not None:
                    await lender.close()
                runtime.db.engine.sync_engine.clear_compiled_cache()
                await runtime.db.engine.dispose()  # the pool's idle connections, with their prepared statements
                found = gc.collect()
                trim()
                print(
                    f"RSS after the idle connections closed and the compiled cache cleared, a full collection"
                    f" ({found} objects in cycles) and malloc_trim: {rss():.0f} MB"
                )
            if args.tracemalloc:
                traced = tracemalloc.take_snapshot().filter_traces([tracemalloc.Filter(False, tracemalloc.__file__)])
                current, _peak = tracemalloc.get_traced_memory()
                print(f"traced since the runtime started and still alive: {current / 1e6:.1f} MB; largest by site:")
                for stat in traced.statistics("traceback")[:25]:
                    print(f"  {stat.size / 1e6:7.2f} MB in {stat.count:7,} blocks")
                    for frame in stat.traceback.format()[-2 * args.tracemalloc :]:
                        print(f"      {frame}")
                tracemalloc.stop()
            after = by_type()
            grown = sorted(((n - before.get(name, 0), name) for name, n in after.items()), reverse=True)[:20]
            print("objects alive now and not before, by type:", ", ".join(f"{name} {n:+,}" for n, name in grown))
            pymalloc_stats("after the catch-up")
            await runtime.stop()
    finally:
        await drop_database(ADMIN, url)


def prepare(service: str, scale: float, bootstrap: str, data: Path) -> tuple[int, list[RecordedEvent]]:
    """In a process of its own (so that the measured one never held the history, whose freed pools it would
    reuse): the history generated and the service's topics published; answers how many events it consumes and
    the history's PortfolioCreated events (portfolio's seed)."""
    sized = scaled(scale)
    definition = SERVICES[service]
    history = [event for event in generate(sized) if event.type != STATUS_REPORTED]
    consumed = [event for event in history if TOPICS[event.source.rsplit("/", 1)[1]] in definition.consumes]
    kept = [event for event in history if event.type.startswith("pmo.portfolio.PortfolioCreated")]
    print(f"{len(consumed):,} events for {service}; load average {os.getloadavg()}", flush=True)
    ensure_event_keys(data, PUBLISHERS)
    print(f"published in {asyncio.run(publish(bootstrap, consumed, data)):.1f} s", flush=True)
    return len(consumed), kept


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--service", choices=list(SERVICES), default="portfolio")
    parser.add_argument("--scale", type=float, default=1.53)
    parser.add_argument("--max-records", type=int, help="records per poll (default: the subscription's own)")
    parser.add_argument("--settle", type=float, default=5.0, help="seconds after the catch-up before RSS is read")
    parser.add_argument(
        "--connections", action="store_true", help="then close the idle pooled connections, clear the compiled cache"
    )
    parser.add_argument(
        "--tracemalloc",
        type=int,
        default=0,
        metavar="FRAMES",
        help="trace allocations from the runtime's start (this many frames) and print what is still alive by site",
    )
    args = parser.parse_args()
    broker = start_broker()
    try:
        data = Path(tempfile.mkdtemp(prefix="pmo-live-heap-"))
        with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
            expected, kept = pool.submit(prepare, args.service, args.scale, broker.bootstrap_servers, data).result()
        asyncio.run(catch_up(args, kept, broker.bootstrap_servers, data, expected))
    finally:
        broker.stop()
    print(f"load average: {os.getloadavg()}")


if __name__ == "__main__":
    main()
