"""Reporting benchmark: ingest a generated history, rebuild, time `as_of` summaries and end-to-end lag.

    .venv/bin/python services/reporting/benchmarks/run.py [--scale 1.0] [--database-url URL] [--lag-samples 30]

Not a test: it prints figures (recorded in docs/reporting.md). Without `--database-url` it uses a
SQLite file in a temporary folder; give an empty PostgreSQL database's URL to measure PostgreSQL.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import uuid
import zlib
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from history import SPAN_DAYS, START, generate, scaled
from sqlalchemy import text

from pmo_events.contracts import TOPICS
from pmo_events.envelope import RecordedEvent
from pmo_events.runtime import Database
from pmo_events.runtime.migrate import upgrade
from pmo_reporting.adapters.db.event_log import record_many
from pmo_reporting.application.live import apply_events
from pmo_reporting.application.rebuild import begin_rebuild, run_rebuild
from pmo_reporting.application.reports import report_state
from pmo_reporting.application.time_travel import Checkpoints, sweep
from pmo_reporting.bootstrap import REPORTING
from pmo_reporting.projections.catalogue import PORTFOLIO, PROJECTIONS
from pmo_reporting.reports.summary import portfolio_summary

SUMMARY_KINDS: dict[str, str | None] = {
    "portfolio": "pf-0",
    "proposal": "pf-0",
    "project": "pf-0",
    "decision": "pf-0",
    "objective": None,
}


def placed(event: RecordedEvent, offsets: dict[tuple[str, int], int]) -> RecordedEvent:
    """Where the relay would have put the event: its service's topic, partition by key."""
    topic = TOPICS[event.source.rsplit("/", 1)[1]]
    partition = zlib.crc32(event.stream_id.encode()) % 3
    offset = offsets.get((topic, partition), 0)
    offsets[(topic, partition)] = offset + 1
    return replace(event, topic=topic, partition=partition, offset=offset)


async def load_log(db: Database, events: list[RecordedEvent], offsets: dict[tuple[str, int], int]) -> float:
    """The history straight into the event log (as a long-running reporting would hold it), in bulk."""
    started = time.perf_counter()
    for start in range(0, len(events), 5000):
        chunk = [placed(e, offsets) for e in events[start : start + 5000]]
        async with db.transaction() as session:
            await record_many(session, chunk)
    async with db.engine.begin() as connection:
        # Planner statistics, as autovacuum gathers them on a log that grew over months (without them the
        # planner guesses a few rows and sorts the whole log on disk instead of walking its primary key).
        # Committed: an ANALYZE in a transaction rolled back keeps no statistics (`last_analyze` is set all the
        # same), which left every benchmark on this log planning without them until 2026-11-30 (s12-memory).
        await connection.execute(text("ANALYZE" if db.is_postgres else "ANALYZE reporting_event_log"))
    return time.perf_counter() - started


async def ingest(
    db: Database, events: list[RecordedEvent], offsets: dict[tuple[str, int], int], batch: int = 100
) -> float:
    """The live path, as the subscription drives it: each batch folded at once, in one transaction."""
    started = time.perf_counter()
    for start in range(0, len(events), batch):
        async with db.transaction() as session:
            await apply_events(session, [placed(event, offsets) for event in events[start : start + batch]])
    return time.perf_counter() - started


async def rebuild_all(db: Database) -> None:
    for projection in PROJECTIONS.values():
        progress = await begin_rebuild(db, projection)
        started = time.perf_counter()
        await run_rebuild(db, projection, progress)
        elapsed = time.perf_counter() - started
        fold = (progress.finished_at - progress.started_at).total_seconds() if progress.finished_at else elapsed
        print(
            f"  rebuild {projection.name:<10} {progress.folded:>7} events in {elapsed:6.2f}s "
            f"→ {progress.folded / max(fold, 1e-6):>8,.0f} events/s ({progress.phase})"
        )


async def timed(coro_factory, runs: int) -> list[float]:  # type: ignore[no-untyped-def]
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        await coro_factory()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


async def summary_latency(db: Database, runs: int) -> None:
    """Live, then `as_of` folds without checkpoints, then a monthly sweep that leaves checkpoints behind."""

    async def summary(as_of: datetime | None, checkpoints: Checkpoints | None = None) -> None:
        docs = await report_state(db, PORTFOLIO, SUMMARY_KINDS, as_of, checkpoints)
        portfolio_summary(docs, "pf-0")

    cases: list[tuple[str, datetime | None]] = [("live", None)]
    cases += [(f"as_of {int(f * 100)}% (full fold)", START + timedelta(days=SPAN_DAYS * f)) for f in (0.25, 0.5, 1.0)]
    for label, as_of in cases:
        samples = await timed(lambda as_of=as_of: summary(as_of), runs)
        print(f"  summary {label:<24} median {statistics.median(samples):8.1f} ms   max {max(samples):8.1f} ms")
    checkpoints = Checkpoints(sweep_every=None)
    started = time.perf_counter()
    await sweep(db, PORTFOLIO, checkpoints, timedelta(days=30))
    print(f"  checkpoint sweep (one pass in event-time order, monthly): {time.perf_counter() - started:.1f}s")
    instants = [START + timedelta(days=SPAN_DAYS * f / 20) for f in range(1, 21)]
    swept = await timed(lambda: summary(instants.pop(0), checkpoints), len(instants))
    print(
        f"  summary as_of, 20 instants from checkpoints: median {statistics.median(swept):.1f} ms,"
        f" max {max(swept):.1f} ms"
    )


def _stamp(event: RecordedEvent) -> RecordedEvent:
    return replace(event, event_id=str(uuid.uuid4()), time=datetime.now(UTC))


async def end_to_end_lag(database_url: str, samples: int, data_dir: Path) -> None:
    """From publishing a decision on the broker to seeing it in the decisions report over HTTP."""
    from aiokafka import AIOKafkaProducer

    from pmo_devstack.broker import start_broker
    from pmo_devstack.testing import as_published, running_service
    from pmo_events.contracts.portfolio import InvestmentDecided

    broker = start_broker()
    try:
        async with running_service(
            REPORTING, database_url=database_url, kafka_bootstrap=broker.bootstrap_servers, data_dir=data_dir
        ) as service:
            producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap_servers, acks="all", linger_ms=0)
            await producer.start()
            lags = []
            async with service.client("bench", "viewer") as client:
                for n in range(samples):
                    decision = InvestmentDecided(
                        decision_id=str(uuid.uuid4()),
                        portfolio_id="pf-lag",
                        candidate_id=f"lag-{n}",
                        proposal_id=f"lag-{n}",
                        outcome="reject",
                        rationale="lag probe",
                        decided_by="bob",
                        decided_at=datetime.now(UTC),
                    )
                    event = RecordedEvent(
                        event_id=str(uuid.uuid4()),
                        type=decision.type_name(),
                        source="/pmo/portfolio",
                        stream_id="pf-lag",
                        sequence=n + 1,
                        time=datetime.now(UTC),
                        data=decision.model_dump(mode="json"),
                    )
                    key, value, headers = as_published(event, data_dir)
                    started = time.perf_counter()
                    await producer.send_and_wait(TOPICS["portfolio"], value, key=key, headers=headers)
                    while True:
                        items = (await client.get("/reports/decisions", params={"portfolio_id": "pf-lag"})).json()
                        if len(items["items"]) > n:
                            break
                        await asyncio.sleep(0.002)
                    lags.append((time.perf_counter() - started) * 1000)
            await producer.stop()
    finally:
        broker.stop()
    lags.sort()
    p95 = lags[max(0, int(len(lags) * 0.95) - 1)]
    print(f"  end-to-end lag over {samples} decisions: median {statistics.median(lags):.1f} ms, p95 {p95:.1f} ms")


async def main(args: argparse.Namespace) -> None:
    data_dir = Path(tempfile.mkdtemp(prefix="pmo-reporting-bench-"))
    url = args.database_url or f"sqlite+aiosqlite:///{data_dir / 'reporting.db'}"
    scale = scaled(args.scale)
    print(f"generating a history at scale {args.scale} ...", flush=True)
    events = generate(scale)
    print(f"  {len(events)} events ({scale})")
    await asyncio.to_thread(upgrade, url, REPORTING.migrations, REPORTING.metadata)
    db = Database(url)
    try:
        offsets: dict[tuple[str, int], int] = {}
        tail = min(args.live_events, len(events) // 2)
        print(f"loading {len(events) - tail} events into the log of {url.split(':')[0]} ...", flush=True)
        elapsed = await load_log(db, events[:-tail], offsets)
        print(f"  bulk log load: {elapsed:.1f}s")
        print("rebuild (online, from the event log) ...", flush=True)
        await rebuild_all(db)
        elapsed = await ingest(db, events[-tail:], offsets)
        print(f"  live path (log + read models): {tail} events in {elapsed:.1f}s → {tail / elapsed:,.0f} events/s")
        print("portfolio summary latency ...", flush=True)
        await summary_latency(db, args.runs)
    finally:
        await db.dispose()
    if args.lag_samples:
        print("end-to-end lag (embedded broker, reporting over HTTP) ...", flush=True)
        await end_to_end_lag(url, args.lag_samples, data_dir)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=1.0, help="1.0 = 5 portfolios, 5,000 proposals, 1,500 projects")
    parser.add_argument("--database-url", help="an empty database (default: a SQLite file in a temporary folder)")
    parser.add_argument("--runs", type=int, default=5, help="repetitions per latency figure")
    parser.add_argument("--live-events", type=int, default=3000, help="events sent through the live path at the end")
    parser.add_argument("--lag-samples", type=int, default=30, help="0 skips the broker lag measurement")
    asyncio.run(main(parser.parse_args()))
