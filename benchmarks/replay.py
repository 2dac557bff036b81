"""Replay against pyeventsourcing in one run: reporting's rebuild and intake's `rebuild`, events/s.

Generates the reporting benchmark's PMO history (about 196,000 events at the default `--scale 1.5`), loads it
into a fresh reporting database's event log and the intake events of it into a fresh intake event
store (both on PostgreSQL), then times:
- reporting: the online rebuild of every read model from one read of the log (decode, fold, write the new
  generation, swap), per read model and for all of them;
- intake: `python -m pmo_intake rebuild`'s work (empty the views, replay the store through the
  inline projectors, commit);
- the peer, pyeventsourcing 9.5.6 on PostgreSQL (`peers/es_replay.py`), replaying as many events
  from its notification log (read, decode, fold into aggregates in memory; it writes nothing back).

    .venv/bin/python benchmarks/replay.py [--scale 1.5] [--repeat 3]

Each replay runs `--repeat` times and the best run of each counts (the machine is shared).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

from load import PEER_PYTHON, PEERS, ServerCpu, es_env, require_tools, rss_mb

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
from pmo_reporting.application.rebuild import begin_rebuild, run_rebuilds
from pmo_reporting.bootstrap import REPORTING
from pmo_reporting.projections.catalogue import PROJECTIONS

ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


@dataclass(frozen=True)
class Replayed:
    """One replay's figures: events, wall time, and CPU time of the client and the database server."""

    name: str
    events: int
    seconds: float
    cpu_ms: float

    @property
    def rate(self) -> float:
        return self.events / self.seconds

    @property
    def cpu_rate(self) -> float:
        """Events per CPU second (client + server): what a loaded machine moves least."""
        return self.events / (self.cpu_ms / 1000)

    def line(self) -> str:
        return (
            f"  {self.name:<38} {self.events:>7} events in {self.seconds:6.2f}s → {self.rate:>8,.0f} events/s"
            f"   CPU {self.cpu_ms / 1000:5.2f}s → {self.cpu_rate:>8,.0f} events per CPU second"
        )


class Timed:
    """Wall time and CPU (this process + the database's server processes) of the block."""

    def __init__(self, database: str) -> None:
        self.server = ServerCpu(database)

    def __enter__(self) -> Timed:
        self.server.start()
        self.started, self.client = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.seconds = time.perf_counter() - self.started
        self.cpu_ms = (time.process_time() - self.client) * 1000 + self.server.stop()


async def reporting_rebuild(url: str, history: list[RecordedEvent], repeat: int) -> list[Replayed]:
    await asyncio.to_thread(upgrade, url, REPORTING.migrations, REPORTING.metadata)
    db = Database(url)
    runs = []
    try:
        await load_log(db, history, {})
        for _ in range(repeat):
            jobs = [(projection, await begin_rebuild(db, projection)) for projection in PROJECTIONS.values()]
            with Timed(url.rsplit("/", 1)[1]) as timed:
                await run_rebuilds(db, jobs)
            assert all(progress.phase == "done" for _, progress in jobs), [p.error for _, p in jobs]
            runs.append(Replayed("reporting rebuild, every read model", len(history), timed.seconds, timed.cpu_ms))
        folded = ", ".join(f"{projection.name} {progress.folded}" for projection, progress in jobs)
        print(f"  reporting rebuild folded: {folded}; this process's RSS after it: {rss_mb(os.getpid()):.0f} MB")
        return runs
    finally:
        await db.dispose()


async def intake_rebuild(url: str, history: list[RecordedEvent], repeat: int) -> list[Replayed]:
    await asyncio.to_thread(upgrade, url, INTAKE.migrations, INTAKE.metadata)
    mine = [replace(e, stream_type="proposal") for e in history if e.source == "/pmo/intake"]
    db = Database(url)
    try:
        for start in range(0, len(mine), 5000):
            async with db.transaction() as session:
                await session.execute(events_table.insert(), [_row(e) for e in mine[start : start + 5000]])
        runs = []
        for _ in range(repeat):
            with Timed(url.rsplit("/", 1)[1]) as timed:
                replayed = await rebuild_inline_views(
                    db,
                    EventStore(source="/pmo/intake", topic=None),
                    tables=INTAKE.view_tables,
                    projectors=INTAKE.projectors,
                )
            runs.append(Replayed("intake rebuild", replayed, timed.seconds, timed.cpu_ms))
        return runs
    finally:
        await db.dispose()


def peer_replay(database: str, events: int, repeat: int) -> list[Replayed]:
    out = subprocess.run(
        [str(PEER_PYTHON), "es_replay.py", "--events", str(events), "--repeat", str(repeat)],
        cwd=PEERS,
        env=es_env(database),
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return [
        Replayed("peer pyeventsourcing 9.5.6 replay", run["events"], run["seconds"], run["cpu_ms"])
        for run in json.loads(out.strip().splitlines()[-1])
    ]


def best(runs: list[Replayed]) -> Replayed:
    """The fastest of several runs: on a shared machine the others only measure its other tenants."""
    for run in runs:
        print(run.line())
    return min(runs, key=lambda run: run.seconds)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=float, default=1.5, help="1.5 ≈ 196,000 events")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each replay; the best counts")
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
        peer = best(peer_replay(urls[2].rsplit("/", 1)[1], len(history), args.repeat))
        ours = [
            best(asyncio.run(reporting_rebuild(urls[0], history, args.repeat))),
            best(asyncio.run(intake_rebuild(urls[1], history, args.repeat))),
        ]
        print("\nratios of the best runs to the peer's best (issue 17 target: ≥ 1.5), by wall time and by CPU:")
        for replayed in ours:
            print(
                f"  {replayed.name:<38} {replayed.rate / peer.rate:5.2f}x   {replayed.cpu_rate / peer.cpu_rate:5.2f}x"
            )
    finally:
        for url in urls:
            asyncio.run(drop_database(ADMIN, url))


if __name__ == "__main__":
    main()
