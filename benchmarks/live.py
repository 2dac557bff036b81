"""The live consumer path: events/s reporting applies from the broker (a republish or a burst catching up).

Generates the reporting benchmark's PMO history (about 65,000 events at the default `--scale 0.5`),
publishes every event signed by its producer to its service's topic on an embedded Tansu broker (keyed
by stream, as the relays do), then starts reporting's subscription on a fresh PostgreSQL database and
times it from start until every event is in the log and folded into every read model (each poll's batch
in one transaction with its offsets). Each run gets a fresh database and consumer and reads the same
topics from offset 0.

`--mode one-by-one` applies each poll one event at a time, each in its own savepoint (the path a batch
with a failing event takes, and the only path before the batch path): the "before" in the same run,
on the first `--one-by-one-events` events only (it is about 15 times slower).

    .venv/bin/python benchmarks/live.py [--scale 0.5] [--repeat 3] [--mode both|batch|one-by-one]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaProducer
from load import ServerCpu, rss_mb
from sqlalchemy import func, select

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "services" / "reporting" / "benchmarks"))

from history import STATUS_REPORTED, Scale, generate

from pmo_devstack.broker import start_broker
from pmo_devstack.keys import PUBLISHERS, ensure_event_keys
from pmo_devstack.testing import as_published, create_database, drop_database
from pmo_events.contracts import TOPICS
from pmo_events.envelope import RecordedEvent
from pmo_events.runtime import KafkaSettings
from pmo_events.runtime.kafka import ensure_topics
from pmo_events.runtime.migrate import upgrade
from pmo_reporting.adapters.db.tables import event_log
from pmo_reporting.bootstrap import REPORTING
from pmo_servicekit.service import ServiceRuntime
from pmo_servicekit.settings import ServiceSettings

ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


async def publish(bootstrap: str, history: list[RecordedEvent], data_dir: Path) -> float:
    """Every event on its producer's topic, signed as the producer signs it; answers the seconds taken."""
    await ensure_topics(KafkaSettings(bootstrap_servers=bootstrap), list(TOPICS.values()))
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=20, max_batch_size=1 << 20)
    await producer.start()
    started = time.perf_counter()
    try:
        for chunk in _chunks(history, 2000):
            sent = []
            for event in chunk:
                key, value, headers = as_published(event, data_dir)
                topic = TOPICS[event.source.rsplit("/", 1)[1]]
                sent.append(await producer.send(topic, value, key=key, headers=headers))
            await asyncio.gather(*sent)
    finally:
        await producer.stop()
    return time.perf_counter() - started


def _chunks(items: list[RecordedEvent], size: int) -> Iterator[list[RecordedEvent]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


async def catch_up(bootstrap: str, data_dir: Path, expected: int, mode: str) -> dict[str, Any]:
    """A fresh reporting database and subscription reading everything from offset 0, timed to the last event."""
    url = await create_database(ADMIN, "pmo_bench")
    try:
        await asyncio.to_thread(upgrade, url, REPORTING.migrations, REPORTING.metadata)
        settings = ServiceSettings(
            env="development",
            data_dir=data_dir,
            database_url=url,
            event_verify_keys_dir=ensure_event_keys(data_dir, PUBLISHERS),
        )
        runtime = ServiceRuntime(REPORTING, settings, KafkaSettings(bootstrap_servers=bootstrap))
        subscription = runtime.subscription
        assert subscription is not None
        if mode == "one-by-one":
            subscription._apply_together = _never  # type: ignore[method-assign]
        server = ServerCpu(url.rsplit("/", 1)[1])
        server.start()
        cpu_before, loop_before, started = time.process_time(), time.thread_time(), time.perf_counter()
        task = asyncio.create_task(subscription.run())
        status = subscription.status
        while status.applied + status.dead_lettered + status.skipped_duplicates < expected:
            if task.done():
                task.result()
            await asyncio.sleep(0.05)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_before
        loop_cpu = time.thread_time() - loop_before  # the event loop's thread: the rest is the checker thread
        server_ms = server.stop()
        await subscription.stop()
        await asyncio.wait_for(task, 60)
        async with runtime.db.sessions() as session:
            logged = (await session.execute(select(func.count()).select_from(event_log))).scalar_one()
        await runtime.db.dispose()
        return {
            "mode": mode,
            "events": expected,
            "seconds": seconds,
            "rate": expected / seconds,
            "cpu_ms_per_1000": cpu * 1e6 / expected,
            "loop_cpu_ms_per_1000": loop_cpu * 1e6 / expected,
            "db_cpu_ms_per_1000": server_ms * 1000 / expected,
            "logged": logged,
            "dead_lettered": status.dead_lettered,
            "rss_mb": rss_mb(os.getpid()),
        }
    finally:
        await drop_database(ADMIN, url)


async def _never(*_args: object) -> None:
    """In place of the batch path: every poll goes event by event, each in its savepoint."""
    return None


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=float, default=0.5, help="0.5 ≈ 65,000 events; 1.5 ≈ 196,000")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each mode (median and spread printed)")
    parser.add_argument("--mode", choices=["both", "batch", "one-by-one"], default="both")
    parser.add_argument(
        "--one-by-one-events", type=int, default=10_000, help="one-by-one runs stop after this many (it is slow)"
    )
    args = parser.parse_args()
    base = Scale()
    scale = replace(
        base,
        proposals=int(base.proposals * args.scale),
        projects=int(base.projects * args.scale),
        resources=int(base.resources * args.scale),
    )
    # The generator's status reports have a type no build registers: the subscription would refuse them all.
    history = [event for event in generate(scale) if event.type != STATUS_REPORTED]
    modes = ["batch", "one-by-one"] if args.mode == "both" else [args.mode]
    print(f"history: {len(history)} events; load average {os.getloadavg()[0]:.1f}")
    broker = start_broker()
    try:
        with tempfile.TemporaryDirectory() as folder:
            data_dir = Path(folder)
            ensure_event_keys(data_dir, PUBLISHERS)
            published = asyncio.run(publish(broker.bootstrap_servers, history, data_dir))
            print(f"published in {published:.1f}s")
            runs: dict[str, list[dict[str, Any]]] = {mode: [] for mode in modes}
            for _ in range(args.repeat):
                for mode in modes:  # interleaved, so a busy minute hurts both modes alike
                    count = len(history) if mode == "batch" else min(len(history), args.one_by_one_events)
                    run = asyncio.run(catch_up(broker.bootstrap_servers, data_dir, count, mode))
                    runs[mode].append(run)
                    print(
                        f"  {mode:<10} {run['events']} events in {run['seconds']:.1f}s → {run['rate']:,.0f} events/s; "
                        f"CPU {run['cpu_ms_per_1000']:.0f} ms (process; {run['loop_cpu_ms_per_1000']:.0f} in the event "
                        f"loop's thread) + {run['db_cpu_ms_per_1000']:.0f} ms (database) per 1,000 events; "
                        f"{run['logged']} logged, {run['dead_lettered']} dead letters; "
                        f"RSS {run['rss_mb']:.0f} MB; load average {os.getloadavg()[0]:.1f}"
                    )
    finally:
        broker.stop()
    print("\nmedian (min to max) events/s (issue 17 target: ≥ 10,000 on PostgreSQL):")
    for mode, of_mode in runs.items():
        rates = [r["rate"] for r in of_mode]
        print(f"  {mode:<10} {statistics.median(rates):,.0f} ({min(rates):,.0f} to {max(rates):,.0f})")
    if len(modes) == 2:
        ratio = statistics.median(r["rate"] for r in runs["batch"]) / statistics.median(
            r["rate"] for r in runs["one-by-one"]
        )
        print(f"  batch ÷ one-by-one: {ratio:.1f}x")


if __name__ == "__main__":
    main()
