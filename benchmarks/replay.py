"""Replay against pyeventsourcing in one run: reporting's rebuild and intake's `rebuild`, events/s.

Generates the reporting benchmark's PMO history (about 196,000 events at `--scale 1`), loads it
into a fresh reporting database's event log and the intake events of it into a fresh intake event
store (both on PostgreSQL), then times:
- reporting: the online rebuild of every read model (read the log, decode, fold, write the new
  generation, swap), per read model and for all of them;
- intake: `python -m pmo_intake rebuild`'s work (empty the views, replay the store through the
  inline projectors, commit);
- the peer, pyeventsourcing 9.5.6 on PostgreSQL (`peers/es_replay.py`), replaying as many events
  from its notification log (read, decode, fold into aggregates in memory; it writes nothing back).

    .venv/bin/python benchmarks/replay.py [--scale 1.0]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

from load import PEER_PYTHON, PEERS, es_env, require_tools, rss_mb

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "services" / "reporting" / "benchmarks"))

from history import Scale, generate
from run import load_log

from pmo_devstack.testing import create_database, drop_database
from pmo_events.envelope import RecordedEvent
from pmo_events.runtime import Database, EventStore
from pmo_events.runtime.migrate import upgrade
from pmo_events.runtime.projection import rebuild_inline_views
from pmo_events.runtime.schema import events as events_table
from pmo_events.runtime.store import _row
from pmo_intake.bootstrap import INTAKE
from pmo_reporting.application.rebuild import begin_rebuild, run_rebuild
from pmo_reporting.bootstrap import REPORTING
from pmo_reporting.projections.catalogue import PROJECTIONS

ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


async def reporting_rebuild(url: str, history: list[RecordedEvent]) -> float:
    await asyncio.to_thread(upgrade, url, REPORTING.migrations, REPORTING.metadata)
    db = Database(url)
    try:
        await load_log(db, history, {})
        total, folded = 0.0, 0
        for projection in PROJECTIONS.values():
            progress = await begin_rebuild(db, projection)
            started = time.perf_counter()
            await run_rebuild(db, projection, progress)
            elapsed = time.perf_counter() - started
            total, folded = total + elapsed, folded + progress.folded
            print(
                f"  reporting rebuild {projection.name:<10} {progress.folded:>7} events {elapsed:6.2f}s"
                f" → {progress.folded / elapsed:>8,.0f} events/s ({progress.phase})"
            )
        rate = len(history) / total
        print(
            f"  reporting rebuild, every read model: {len(history)} log events in {total:.2f}s → {rate:,.0f} events/s"
        )
        print(f"  (this process's RSS after it: {rss_mb(_self()):.0f} MB)")
        return rate
    finally:
        await db.dispose()


async def intake_rebuild(url: str, history: list[RecordedEvent]) -> float:
    await asyncio.to_thread(upgrade, url, INTAKE.migrations, INTAKE.metadata)
    mine = [replace(e, stream_type="proposal") for e in history if e.source == "/pmo/intake"]
    db = Database(url)
    try:
        for start in range(0, len(mine), 5000):
            async with db.transaction() as session:
                await session.execute(events_table.insert(), [_row(e) for e in mine[start : start + 5000]])
        started = time.perf_counter()
        replayed = await rebuild_inline_views(
            db,
            EventStore(source="/pmo/intake", topic=None),
            tables=INTAKE.view_tables,
            projectors=INTAKE.projectors,
        )
        elapsed = time.perf_counter() - started
        print(f"  intake rebuild: {replayed} events in {elapsed:.2f}s → {replayed / elapsed:,.0f} events/s")
        return replayed / elapsed
    finally:
        await db.dispose()


def peer_replay(database: str, events: int) -> float:
    out = subprocess.run(
        [str(PEER_PYTHON), "es_replay.py", "--events", str(events)],
        cwd=PEERS,
        env=es_env(database),
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    figures = json.loads(out.strip().splitlines()[-1])
    print(
        f"  peer pyeventsourcing 9.5.6 replay: {figures['events']} events in {figures['seconds']:.2f}s"
        f" → {figures['events_per_s']:,.0f} events/s"
    )
    return float(figures["events_per_s"])


def _self() -> int:
    import os

    return os.getpid()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=float, default=1.0, help="1.0 ≈ 196,000 events")
    args = parser.parse_args()
    require_tools()
    base = Scale()
    scale = replace(
        base,
        proposals=int(base.proposals * args.scale),
        projects=int(base.projects * args.scale),
        resources=int(base.resources * args.scale),
    )
    history = generate(scale)
    print(f"history: {len(history)} events")
    urls = [asyncio.run(create_database(ADMIN, "pmo_bench")) for _ in range(3)]
    try:
        peer = peer_replay(urls[2].rsplit("/", 1)[1], len(history))
        reporting = asyncio.run(reporting_rebuild(urls[0], history))
        intake = asyncio.run(intake_rebuild(urls[1], history))
        print("\nratios to the pyeventsourcing replay (issue 17 target: ≥ 1.5):")
        print(f"  reporting rebuild  {reporting / peer:5.2f}x")
        print(f"  intake rebuild     {intake / peer:5.2f}x")
    finally:
        for url in urls:
            asyncio.run(drop_database(ADMIN, url))


if __name__ == "__main__":
    main()
