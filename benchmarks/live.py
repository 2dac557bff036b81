"""The live consumer path: events/s reporting applies from the broker (a republish or a burst catching up).

Generates the reporting benchmark's PMO history (47,525 published events at the default `--scale 0.5`, of 65,525
generated: the status reports, a type no build registers, are left out),
publishes every event signed by its producer to its service's topic on an embedded Tansu broker (keyed
by stream, as the relays do), then starts reporting's subscription on a fresh PostgreSQL database and
times it from start until every event is in the log and folded into every read model (each poll's batch
in one transaction with its offsets): events/s over that whole time, and beside it the rate after the first
poll committed (the consumer's start, its seek and first check left out: at `--scale 0.1` they are a large
part). Each run gets a fresh database and consumer and reads the same topics from offset 0.

`--mode one-by-one` applies each poll one event at a time, each in its own savepoint (the path a batch
with a failing event takes, and the only path before the batch path): the "before" in the same run,
on the first `--one-by-one-events` events only (it is about 15 times slower).

`--mode before-after` runs the batch path twice, alternated: as it is, and as it was before 2026-11-29 22:00
UTC ("batch-before": every CloudEvent read by the SDK, every signature checked on the event loop's thread,
none in the checker thread while a poll applies, polls of 500 records), so the ratio comes from the same minutes.

`--mode batchsig` alternates the checker as it is (`batch`: a whole relay batch in a poll verified by its one
batch signature) with `per-record` (every record by its own signature, as before 2026-12-01 s13), on the same
records. The history is published as the relays publish it (each round of 500 records of a topic batched by
partition and signed once, beside each record's signature); `--unbatched`: each record signed alone, as before.

`--service intake|portfolio|resourcing` drives that service's subscription instead (the same history; it
reads only the topics it consumes, and its handlers issue its commands as they do live: their events go to
its outbox, signed; a handler that refuses an event of this generated history dead-letters it, counted).
Portfolio's own database is first given the history's portfolios, each created by portfolio's command (event,
outbox, views; untimed), as the product has them before proposals arrive: every ProposalSubmitted registers a
candidate (before 2026-11-29 23:00 UTC none did: each was dead-lettered and each poll split event by event).
Intake's store is likewise first given the history's proposals (drafted and submitted; untimed), so the
board's scores and decisions are mirrored by intake's commands (before 2026-11-30 none was: no proposal
was found). Each run prints how many events the service's commands recorded.
`LIVE_SCANS=1` prints each run's table scans (pg_stat_user_tables: sequential scans and rows they read).

    .venv/bin/python benchmarks/live.py [--scale 0.5] [--repeat 3] [--mode both|batch|one-by-one]
        [--service reporting|intake|portfolio|resourcing|all] [--mode before-after] [--first-chunk 256,1024]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import fields
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.partitioner import DefaultPartitioner
from load import ServerCpu, rss_mb
from sqlalchemy import func, select, text

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "services" / "reporting" / "benchmarks"))

from history import STATUS_REPORTED, generate, scaled

from pmo_devstack.batches import service_runtime
from pmo_devstack.broker import start_broker
from pmo_devstack.keys import PUBLISHERS, ensure_event_keys, event_signer
from pmo_devstack.testing import create_database, drop_database
from pmo_events import envelope
from pmo_events.contracts import TOPICS
from pmo_events.contracts.portfolio import PortfolioCreated
from pmo_events.envelope import RecordedEvent
from pmo_events.runtime import KafkaSettings, Metadata
from pmo_events.runtime.kafka import ensure_topics
from pmo_events.runtime.relay import sign_batches
from pmo_events.runtime.store import kafka_record
from pmo_intake.application.commands import PROPOSAL
from pmo_intake.bootstrap import INTAKE
from pmo_portfolio.bootstrap import PORTFOLIO
from pmo_portfolio.funding.commands import create_portfolio
from pmo_portfolio.funding.domain.portfolio import CreatePortfolio
from pmo_reporting.adapters.db.tables import event_log
from pmo_reporting.bootstrap import REPORTING
from pmo_resourcing.bootstrap import RESOURCING
from pmo_servicekit.service import ServiceDefinition, ServiceRuntime

ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
SERVICES: dict[str, ServiceDefinition] = {
    "reporting": REPORTING,
    "intake": INTAKE,
    "portfolio": PORTFOLIO,
    "resourcing": RESOURCING,
}


SCANS = (
    "SELECT relname, seq_scan, seq_tup_read, idx_scan, n_live_tup FROM pg_stat_user_tables"
    " ORDER BY seq_tup_read DESC LIMIT 8"
)


def consumed(definition: ServiceDefinition, history: list[RecordedEvent]) -> int:
    """How many events of the history are on the topics the service reads."""
    return sum(1 for event in history if TOPICS[event.source.rsplit("/", 1)[1]] in definition.consumes)


async def publish(bootstrap: str, history: list[RecordedEvent], data_dir: Path, *, batched: bool = True) -> float:
    """Every event on its producer's topic, signed as the producer signs it; answers the seconds taken.
    `batched`: as the relays send since 2026-12-01 (s13): each relay round of `RELAY_ROUND` records of a topic
    batched by partition, each batch signed once beside each record's own signature (`relay.sign_batches`);
    else each record signed alone, as before."""
    await ensure_topics(KafkaSettings(bootstrap_servers=bootstrap), list(TOPICS.values()))
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=20, max_batch_size=1 << 20)
    await producer.start()
    started = time.perf_counter()
    partitioner = DefaultPartitioner()
    try:
        for chunk in _chunks(history, 2000):
            records = []
            of_topic: dict[str, list[tuple[dict[str, bytes], bytes, int | None]]] = {}
            for event in chunk:
                service = event.source.rsplit("/", 1)[1]
                record = kafka_record(event, event_signer(data_dir, service))
                topic = TOPICS[service]
                partition = None
                if batched:
                    partitions = list(await producer.partitions_for(topic))
                    partition = partitioner(record.key.encode(), partitions, partitions)
                    of_topic.setdefault(topic, []).append((record.headers, record.value, partition))
                records.append((topic, record, partition))
            for topic, of_this in of_topic.items():
                for start in range(0, len(of_this), RELAY_ROUND):
                    sign_batches(event_signer(data_dir, topic.split(".")[1]), of_this[start : start + RELAY_ROUND])
            sent = []
            for topic, record, partition in records:
                headers = list(record.headers.items())
                sent.append(
                    await producer.send(
                        topic, record.value, key=record.key.encode(), headers=headers, partition=partition
                    )
                )
            await asyncio.gather(*sent)
    finally:
        await producer.stop()
    return time.perf_counter() - started


#: The relay's rows per round (`OutboxRelay.batch_size`'s default).
RELAY_ROUND = 500


def _chunks(items: list[RecordedEvent], size: int) -> Iterator[list[RecordedEvent]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


async def catch_up(
    bootstrap: str,
    data_dir: Path,
    expected: int,
    mode: str,
    definition: ServiceDefinition = REPORTING,
    max_records: int | None = None,
    history: list[RecordedEvent] | None = None,
    first_chunk: int | None = None,
) -> dict[str, Any]:
    """A fresh database and subscription of the service reading everything from offset 0, timed to the last event."""
    url = await create_database(ADMIN, "pmo_bench")
    try:
        async with service_runtime(definition, url, bootstrap, data_dir) as runtime:
            subscription = runtime.subscription
            assert subscription is not None
            if max_records is not None:
                subscription.max_records = max_records
            if first_chunk is not None:
                subscription.first_chunk = first_chunk
            if definition is PORTFOLIO and history:
                await seed_portfolios(runtime, history)
            if definition is INTAKE and history:
                await seed_proposals(runtime, history)
            recorded_before = await _recorded(runtime)
            if mode == "one-by-one":
                _one_by_one(subscription)
            if mode == "per-record":
                _per_record(subscription)
            if mode == "batch-before":
                before = _as_before(subscription)
                next(before)
            server = ServerCpu(url.rsplit("/", 1)[1])
            server.start()
            cpu_before, loop_before, started = time.process_time(), time.thread_time(), time.perf_counter()
            task = asyncio.create_task(subscription.run())
            status = subscription.status
            # Watched every 5 ms (it was 50 ms until 2026-11-30 s12: up to 50 ms of sleep after the last event
            # counted as throughput time, a few per cent of a 0.7 s catch-up at `--scale 0.1`). The first time
            # a poll is seen committed is noted too: the rate from then on leaves out the consumer's start (group,
            # metadata, the seek, the first fetch and its first check), which no longer catch-up pays.
            first_at, first_done = None, 0
            while (done := status.applied + status.dead_lettered + status.skipped_duplicates) < expected:
                if task.done():
                    task.result()
                if first_at is None and done:
                    first_at, first_done = time.perf_counter(), done
                await asyncio.sleep(0.005)
            ended = time.perf_counter()
            seconds, cpu = ended - started, time.process_time() - cpu_before
            if first_at is None:  # everything in the first committed poll
                first_at, first_done = ended, expected
            if mode == "batch-before":
                next(before, None)
            loop_cpu = time.thread_time() - loop_before  # the event loop's thread: the rest is the checker thread
            server_ms = server.stop()
            if os.environ.get("LIVE_SCANS"):  # which tables the run scanned: a lookup that grows with the history
                async with runtime.db.sessions() as session:
                    for row in await session.execute(text(SCANS)):
                        print("    table", *row, flush=True)
            await subscription.stop()
            await asyncio.wait_for(task, 60)
            recorded = await _recorded(runtime) - recorded_before
            logged = None
            if definition is REPORTING:
                async with runtime.db.sessions() as session:
                    logged = (await session.execute(select(func.count()).select_from(event_log))).scalar_one()
            return {
                "service": definition.name,
                "mode": mode if first_chunk is None else f"{mode} first chunk {first_chunk}",
                "events": expected,
                "seconds": seconds,
                "rate": expected / seconds,
                "start_seconds": first_at - started,
                # After the first committed poll: (events then left) / (seconds then left).
                "steady_rate": (expected - first_done) / (ended - first_at) if ended > first_at else float("nan"),
                "cpu_ms_per_1000": cpu * 1e6 / expected,
                "loop_cpu_ms_per_1000": loop_cpu * 1e6 / expected,
                "db_cpu_ms_per_1000": server_ms * 1000 / expected,
                "logged": logged,
                "dead_lettered": status.dead_lettered,
                "batch_checks": status.batch_checks,
                "record_checks": status.record_checks,
                "recorded": recorded,
                "rss_mb": rss_mb(os.getpid()),
            }
    finally:
        await drop_database(ADMIN, url)


async def seed_portfolios(runtime: ServiceRuntime, history: list[RecordedEvent]) -> int:
    """Portfolio's own past, as the product has it before intake's proposals arrive: each portfolio of the
    history created by portfolio's command (its event, outbox record and inline views), untimed."""
    created = [e.decode() for e in history if e.type == PortfolioCreated.type_name()]
    for event in created:
        assert isinstance(event, PortfolioCreated)
        command = CreatePortfolio(**{f.name: getattr(event, f.name) for f in fields(CreatePortfolio)})
        async with runtime.commands.unit_of_work(Metadata(actor=event.created_by)) as uow:
            await create_portfolio(uow, command)
    return len(created)


async def seed_proposals(runtime: ServiceRuntime, history: list[RecordedEvent]) -> int:
    """Intake's own past: the history's proposals (drafted and submitted) in intake's store with their outbox
    records and inline view, untimed, so the board's scores and decisions it reads find them (before 2026-11-30
    none did, and intake's handlers returned at once)."""
    streams: dict[str, list[RecordedEvent]] = {}
    for event in history:
        if event.source == "/pmo/intake" and event.type.startswith("pmo.intake.Proposal"):
            streams.setdefault(event.stream_id, []).append(event)
    for stream_id, of_stream in streams.items():
        async with runtime.commands.unit_of_work(Metadata(actor=of_stream[0].actor)) as uow:
            await uow.append(PROPOSAL, stream_id, 0, [event.decode() for event in of_stream])
    return len(streams)


async def _recorded(runtime: ServiceRuntime) -> int:
    """Events in the service's own store (what its handlers' commands recorded)."""
    async with runtime.db.sessions() as session:
        return await runtime.store.count(session)


def describe(run: dict[str, Any]) -> str:
    logged = "" if run["logged"] is None else f"{run['logged']} logged, "
    return (
        f"  {run['service']:<10} {run['mode']:<10} {run['events']} events in {run['seconds']:.1f}s → "
        f"{run['rate']:,.0f} events/s ({run['steady_rate']:,.0f}/s after the first poll committed at "
        f"{run['start_seconds']:.2f}s); CPU {run['cpu_ms_per_1000']:.0f} ms (process; "
        f"{run['loop_cpu_ms_per_1000']:.0f} in the event loop's thread) + {run['db_cpu_ms_per_1000']:.0f} ms "
        f"(database) per 1,000 events; {logged}{run['recorded']} recorded, {run['dead_lettered']} dead letters; "
        f"signatures checked by batch {run['batch_checks']}, by record {run['record_checks']}; "
        f"RSS {run['rss_mb']:.0f} MB; load average {os.getloadavg()[0]:.1f}"
    )


def _per_record(subscription: Any) -> None:
    """Every record checked by its own signature, batch headers or not: the checker as before 2026-12-01 (s13)."""

    def each(tp: Any, records: Any) -> list[Any]:
        subscription.status.record_checks += len(records)
        return [subscription._read(tp, record) for record in records]

    subscription._read_partition = each


def _as_before(subscription: Any) -> Iterator[None]:
    """The batch path as before 2026-11-29 22:00 UTC, until resumed: CloudEvents read by the SDK only, each
    poll checked on the event loop's thread (a resolved future in place of the checker thread's), polls of 500."""
    attributes = envelope._attributes

    def on_the_loop(batch: Any) -> asyncio.Future[Any]:
        future = asyncio.get_running_loop().create_future()
        future.set_result(subscription._check(batch))
        return future

    envelope._attributes = lambda *_: None  # type: ignore[assignment]
    subscription._check_in_thread = on_the_loop
    subscription.max_records = 500
    try:
        yield
    finally:
        envelope._attributes = attributes


def _one_by_one(subscription: Any) -> None:
    """In place of the batch path: every poll goes event by event, each in its savepoint (the path a poll takes
    again after an event of it failed together with the others)."""
    apply = subscription._apply_in_transaction

    async def event_by_event(batch: Any, checked: Any, *, together: bool) -> Any:
        return await apply(batch, checked, together=False)

    subscription._apply_in_transaction = event_by_event


def _name(service: str, mode: str, first_chunk: int | None) -> str:
    return f"{service} {mode}" if first_chunk is None else f"{service} {mode} first chunk {first_chunk}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--scale", type=float, default=0.5, help="0.5: 47,525 published events (the default); 0.1: 9,525; 1.5: 142,525"
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs of each mode (median and spread printed)")
    parser.add_argument(
        "--mode", choices=["both", "batch", "one-by-one", "before-after", "per-record", "batchsig"], default="both"
    )
    parser.add_argument(
        "--unbatched", action="store_true", help="publish each record signed alone (no relay batch signatures)"
    )
    parser.add_argument("--max-records", type=int, help="records per poll (default: the subscription's own)")
    parser.add_argument(
        "--first-chunk",
        help="the first check chunk's size (`Subscription.first_chunk`); several (comma-separated) alternate",
    )
    parser.add_argument("--service", choices=[*SERVICES, "all"], default="reporting", help="whose subscription")
    parser.add_argument(
        "--one-by-one-events", type=int, default=10_000, help="one-by-one runs stop after this many (it is slow)"
    )
    args = parser.parse_args()
    scale = scaled(args.scale)
    # The generator's status reports have a type no build registers: the subscription would refuse them all.
    history = [event for event in generate(scale) if event.type != STATUS_REPORTED]
    modes = {
        "both": ["batch", "one-by-one"],
        "before-after": ["batch-before", "batch"],
        "batchsig": ["per-record", "batch"],
    }.get(args.mode, [args.mode])
    chunks: list[int | None] = [int(n) for n in args.first_chunk.split(",")] if args.first_chunk else [None]
    variants = [(m, c) for m in modes for c in chunks]
    services = list(SERVICES) if args.service == "all" else [args.service]
    print(f"history: {len(history)} events; load average {os.getloadavg()[0]:.1f}")
    broker = start_broker()
    try:
        with tempfile.TemporaryDirectory() as folder:
            data_dir = Path(folder)
            ensure_event_keys(data_dir, PUBLISHERS)
            published = asyncio.run(publish(broker.bootstrap_servers, history, data_dir, batched=not args.unbatched))
            print(
                f"published in {published:.1f}s ({'each record signed alone' if args.unbatched else 'relay batches'})"
            )
            # A served process freezes what it made at startup (`pmo_servicekit.app`), and never holds the
            # history; this one does (65,525 generated events at `--scale 0.5`, 47,525 of them published): frozen
            # too, so the collector's full collections walk what the subscription makes, not the benchmark's own
            # heap (they did until 2026-11-30 s7: about 15 us per event on the event loop's thread).
            gc.collect()
            gc.freeze()
            runs: dict[str, list[dict[str, Any]]] = {_name(s, m, c): [] for s in services for m, c in variants}
            for _ in range(args.repeat):
                for service in services:
                    definition = SERVICES[service]
                    total = consumed(definition, history)
                    for mode, chunk in variants:  # interleaved, so a busy minute hurts every variant alike
                        count = min(total, args.one_by_one_events) if mode == "one-by-one" else total
                        bootstrap = broker.bootstrap_servers
                        run = asyncio.run(
                            catch_up(bootstrap, data_dir, count, mode, definition, args.max_records, history, chunk)
                        )
                        runs[_name(service, mode, chunk)].append(run)
                        print(describe(run))
    finally:
        broker.stop()
    print("\nmedian (min to max) events/s (issue 17 target: ≥ 10,000 on PostgreSQL):")
    for name, of_mode in runs.items():
        rates, steady = [r["rate"] for r in of_mode], [r["steady_rate"] for r in of_mode]
        print(
            f"  {name:<21} {statistics.median(rates):,.0f} ({min(rates):,.0f} to {max(rates):,.0f}); after the first "
            f"committed poll {statistics.median(steady):,.0f} ({min(steady):,.0f} to {max(steady):,.0f})"
        )
    for service in services:
        for other in ("one-by-one", "batch-before", "per-record"):
            if f"{service} {other}" in runs and f"{service} batch" in runs:
                of_batch, of_other = runs[f"{service} batch"], runs[f"{service} {other}"]
                ratio = statistics.median(r["rate"] for r in of_batch) / statistics.median(r["rate"] for r in of_other)
                cpu = [statistics.median(r[k] for r in of_run) for of_run in (of_other, of_batch)
                       for k in ("cpu_ms_per_1000", "loop_cpu_ms_per_1000")]  # fmt: skip
                print(f"  {service} batch ÷ {other}: {ratio:.2f}x events/s; process CPU per 1,000 events "
                      f"{cpu[0]:.0f} → {cpu[2]:.0f} ms, of it the event loop's thread "
                      f"{cpu[1]:.0f} → {cpu[3]:.0f} ms")  # fmt: skip


if __name__ == "__main__":
    main()
