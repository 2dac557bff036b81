"""Replay against pyeventsourcing in one run: reporting's rebuild and each service's `rebuild`, events/s.

Generates the reporting benchmark's PMO history (about 196,000 events at the default `--scale 1.5`), loads it
into a fresh reporting database's event log and each service's events of it into a fresh event store of
that service (all on PostgreSQL; each event in the stream its service's commands append it to: a
portfolio's candidates in the portfolio's stream, a project's demand in `project_demand`), then times:
- reporting: the online rebuild of every read model from one read of the log (decode, fold, write the new
  generation, swap), per read model and for all of them;
- resourcing, portfolio and intake: `python -m pmo_<service> rebuild`'s
  work (empty the views, replay the store through the inline projectors, commit), events/s of that
  service's own events;
- the peer, pyeventsourcing 9.5.6 on PostgreSQL (`peers/es_replay.py`), replaying as many events
  from its notification log (read, decode, fold into aggregates in memory; it writes nothing back).

    .venv/bin/python benchmarks/replay.py [--scale 1.5] [--repeat 3] [--services reporting,resourcing,portfolio,intake]

`--workers N`: the processes reporting's rebuild folds in (what `PMO_REBUILD_WORKERS` sets in a service; this
benchmark does not read that variable, only this flag sets it here; default `1`, the serial path, as a service's
default; `0`: `pod_cpus()`, the cgroup CPU limit, else the CPU affinity). Its CPU counts the forked workers
(once ended) and the backends that come and go during it (sampled every 10 ms; the sampler's own CPU is left
out), and its line prints the CPU by process.

`--floor` also times, on each service's database after its rebuilds, reading the same events as its rebuild
reads them (the same cursor and pages, in a transaction) alone and then decoding each one too (`decode()`, as a
fold does; under the fold's collector settings): what any change to the fold, the rows and their writing leaves.
Its lines are events per CPU second (client + server) and that ratio to the peer's, so a floor below 1.5x says
the target cannot be reached by cutting the fold alone.

`--services` chooses whose replays run (all four by default; the peer's always): `--services resourcing` times
resourcing alone, without loading and rebuilding reporting's log (cheaper A/B runs). Before 2026-12-01 reporting
ran whatever `--services` named.

Each replay runs `--repeat` times and the best run of each counts (the machine is shared). Each service's line
starts with the types its store got.

`--history delivered` (the default) records each project's delivery and each proposal's path as the product
records it (`services/reporting/benchmarks/delivery.py`: every intake and project event from the services' own
decide functions, so events the product itself accepts): proposals drafted, edited, submitted, mirrored through
review and decision; projects initiated, gated, reporting status monthly with their earned value, raising and
closing RAID items, changing budget or end, closed. `--history legacy` is the history before 2026-11-30 (the
candidate pipeline only; its monthly status reports under a type no build knows, so portfolio's store never got
them), for comparing with earlier figures. The peer replays as many events as the history holds either way.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass
from dataclasses import replace as with_fields
from pathlib import Path
from typing import Any

from load import PEER_PYTHON, PEERS, backends, children_cpu_ms, es_env, process_cpu_ms, require_tools, rss_mb

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "services" / "reporting" / "benchmarks"))

from history import generate, scaled
from run import load_log

from pmo_devstack.testing import create_database, drop_database
from pmo_events.contracts import registry
from pmo_events.envelope import RecordedEvent, to_kafka
from pmo_events.runtime import Database, EventStore
from pmo_events.runtime.heap import growing_heap
from pmo_events.runtime.migrate import upgrade
from pmo_events.runtime.projection import rebuild_inline_views
from pmo_events.runtime.rebuild_workers import pod_cpus
from pmo_events.runtime.schema import events as events_table
from pmo_events.runtime.store import _row
from pmo_intake.bootstrap import INTAKE
from pmo_portfolio.bootstrap import PORTFOLIO
from pmo_reporting.application.log_reader import log_head, stream_types
from pmo_reporting.application.rebuild import begin_rebuild, run_rebuilds
from pmo_reporting.bootstrap import REPORTING
from pmo_reporting.projections.catalogue import PROJECTIONS
from pmo_resourcing.bootstrap import RESOURCING
from pmo_servicekit.service import ServiceDefinition

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


class ServerCpu:
    """CPU the database server spent for one database during a block, short-lived backends included.

    A rebuild's workers connect and disconnect within the block, so their backends are gone by its end: a
    thread reads the postmaster's children every 10 ms and each backend's CPU of this database, keeping the
    last figure of each (a backend's last ≤ 10 ms are missed). Its own CPU is taken off the client's figure."""

    def __init__(self, database: str) -> None:
        self.database = database
        self._stop = threading.Event()

    def start(self) -> None:
        present = backends(self.database)
        self.postmaster = int(Path(f"/proc/{present[0]}/stat").read_text().rsplit(")", 1)[1].split()[1])
        self.before = {pid: cpu for pid, cpu in process_cpu_ms(present).items()}
        self.last = dict(self.before)
        self.mine: dict[int, bool] = dict.fromkeys(present, True)
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        try:
            children = Path(f"/proc/{self.postmaster}/task/{self.postmaster}/children").read_text().split()
        except OSError:
            return
        for pid in map(int, children):
            if pid not in self.mine:
                try:
                    title = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
                except OSError:
                    continue
                self.mine[pid] = f" {self.database} " in title
        self.last.update(process_cpu_ms([pid for pid, mine in self.mine.items() if mine]))

    def _run(self) -> None:
        started = time.thread_time()
        while not self._stop.wait(0.01):
            self._sample()
        #: The sampler's own CPU, taken off the client's figure.
        self.sampler_ms = (time.thread_time() - started) * 1000

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        self._sample()
        return sum(spent - self.before.get(pid, 0.0) for pid, spent in self.last.items())


class Timed:
    """Wall time and CPU (this process, its ended child processes, the database's server processes) of the block."""

    def __init__(self, database: str) -> None:
        self.server = ServerCpu(database)

    def __enter__(self) -> Timed:
        self.server.start()
        self.started, self.client = time.perf_counter(), time.process_time()
        self.children = children_cpu_ms()
        self.children_usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        return self

    def __exit__(self, *_exc: object) -> None:
        self.seconds = time.perf_counter() - self.started
        self.workers_ms = children_cpu_ms() - self.children
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        self.workers_sys_ms = (usage.ru_stime - self.children_usage.ru_stime) * 1000
        self.workers_faults = usage.ru_minflt - self.children_usage.ru_minflt
        self.server_ms = self.server.stop()
        self.client_ms = (time.process_time() - self.client) * 1000 - self.server.sampler_ms
        self.cpu_ms = self.client_ms + self.workers_ms + self.server_ms

    def split(self) -> str:
        return (
            f"CPU: this process {self.client_ms / 1000:.2f}s, forked workers {self.workers_ms / 1000:.2f}s"
            f" ({self.workers_sys_ms / 1000:.2f}s system, {self.workers_faults:,} minor faults),"
            f" database {self.server_ms / 1000:.2f}s (the backend sampler's own {self.server.sampler_ms / 1000:.2f}s"
            " left out)"
        )


#: The floor's ways of decoding an event: none (read alone), the contract (`decode()`, as a fold does), and with
#: `--floor-compiled` `compiled_decoder.py`'s derived decoder (the same contract) and its msgspec structs alone.
FLOOR_MODES = ("read", "read + decode")
COMPILED_MODES = ("read + compiled decode", "read + msgspec structs")


def _decoders(mode: str) -> dict[str, Any]:
    if mode not in COMPILED_MODES:
        return {}
    from compiled_decoder import compile_decoder

    found = {name: compile_decoder(cls) for name, cls in registry.classes().items()}
    return {
        name: decode if mode == COMPILED_MODES[0] else decode.parse  # type: ignore[attr-defined]
        for name, decode in found.items()
        if decode is not None
    }


async def floor(db: Database, name: str, repeat: int, reporting: bool, compiled: bool = False) -> list[list[Replayed]]:
    """Best-of-`repeat` runs of reading the rebuild's events (as it reads them) alone, then decoding each too (with
    `compiled`, also by the derived decoder, its contract kept on the event as `decode()` keeps it, and by its
    structs alone, kept for the page; a type it has none for by `decode()`); the ways alternate in each round."""
    url = db.url.rsplit("/", 1)[1]
    modes = FLOOR_MODES + (COMPILED_MODES if compiled else ())
    decoders = {mode: _decoders(mode) for mode in modes}
    found: dict[str, list[Replayed]] = {mode: [] for mode in modes}
    for _ in range(repeat):
        for mode in modes:
            read = 0
            with Timed(url) as timed, growing_heap() as settle:
                async with db.transaction() as session:
                    if reporting:
                        taken = set().union(*(projection.handles for projection in PROJECTIONS.values()))
                        pages = stream_types(session, taken, upto=await log_head(session))
                    else:
                        pages = EventStore(source=f"/pmo/{name}", topic=None).stream_all(session, read_ahead=True)
                    async for page in pages:
                        read += len(page)
                        if mode != "read":
                            kept = [decode_one(event, decoders[mode].get(event.type), mode) for event in page]
                            del kept
                        settle()
            found[mode].append(Replayed(f"{name} floor: {mode}", read, timed.seconds, timed.cpu_ms))
    return list(found.values())


def decode_one(event: RecordedEvent, decode: Any, mode: str) -> Any:
    """One event decoded as `mode` says; one a fold would skip (refused by the contract, or msgspec) gives None."""
    try:
        if decode is None or event.text is None:
            return event.decode()
        if mode == COMPILED_MODES[0]:
            object.__setattr__(event, "_decoded", decoded := decode(event.text))  # where `decode()` keeps it
            return decoded
        return decode(event.text)
    except ValueError:  # pydantic's ValidationError and msgspec's errors alike
        return None


async def reporting_rebuild(
    url: str,
    history: list[RecordedEvent],
    repeat: int,
    floors: list[list[Replayed]] | None = None,
    workers: int = 1,
    compiled: bool = False,
) -> list[Replayed]:
    await asyncio.to_thread(upgrade, url, REPORTING.migrations, REPORTING.metadata)
    db = Database(url)
    runs = []
    try:
        await load_log(db, history, {})
        for _ in range(repeat):
            jobs = [(projection, await begin_rebuild(db, projection)) for projection in PROJECTIONS.values()]
            with Timed(url.rsplit("/", 1)[1]) as timed:
                await run_rebuilds(db, jobs, workers=workers)
            assert all(progress.phase == "done" for _, progress in jobs), [p.error for _, p in jobs]
            name = f"reporting rebuild, {workers} process{'es' if workers > 1 else ''}"
            runs.append(Replayed(name, len(history), timed.seconds, timed.cpu_ms))
            print(f"    {timed.split()}")
        folded = ", ".join(f"{projection.name} {progress.folded}" for projection, progress in jobs)
        print(f"  reporting rebuild folded: {folded}; this process's RSS after it: {rss_mb(os.getpid()):.0f} MB")
        if floors is not None:
            floors += await floor(db, "reporting", repeat, reporting=True, compiled=compiled)
        return runs
    finally:
        await db.dispose()


#: Where each service records the history's events: (stream type, stream id) from the event's data, as the
#: services' commands append them (a portfolio's candidates live in the portfolio's own stream; a project's
#: demand in `project_demand`); types not listed keep the generated stream under `default`.
STREAMS: dict[str, tuple[str, dict[str, tuple[str, str]]]] = {
    "intake": ("proposal", {}),
    "portfolio": (
        "project",
        {
            "pmo.portfolio.PortfolioCreated.v1": ("portfolio", "portfolio_id"),
            "pmo.portfolio.BoardCharterSet.v1": ("portfolio", "portfolio_id"),
            "pmo.portfolio.RaidItemRaised.v1": ("raid_item", "raid_item_id"),
            "pmo.portfolio.RiskAssessed.v1": ("raid_item", "raid_item_id"),
            "pmo.portfolio.RaidItemClosed.v1": ("raid_item", "raid_item_id"),
            "pmo.portfolio.CandidateRegistered.v1": ("portfolio", "portfolio_id"),
            "pmo.portfolio.CandidateScored.v1": ("portfolio", "portfolio_id"),
            "pmo.portfolio.InvestmentDecided.v1": ("portfolio", "portfolio_id"),
            "pmo.portfolio.ObjectiveCreated.v1": ("objective", "objective_id"),
        },
    ),
    "resourcing": ("resource", {"pmo.resourcing.DemandRaised.v1": ("project_demand", "project_id")}),
}


def service_events(history: list[RecordedEvent], service: str) -> list[RecordedEvent]:
    """The history's events of one service as its store holds them: its stream types, renumbered per stream."""
    default, by_type = STREAMS[service]
    numbered: dict[tuple[str, str], int] = {}
    mine = []
    for event in history:
        if event.source != f"/pmo/{service}" or not registry.knows(event.type):
            continue  # the history's made-up status reports are reporting's alone
        stream_type, field = by_type.get(event.type, (default, None))
        stream_id = str(event.data[field]) if field else event.stream_id
        sequence = numbered[stream_type, stream_id] = numbered.get((stream_type, stream_id), 0) + 1
        mine.append(with_fields(event, stream_type=stream_type, stream_id=stream_id, sequence=sequence))
    return mine


async def service_rebuild(
    url: str,
    history: list[RecordedEvent],
    repeat: int,
    service: ServiceDefinition,
    floors: list[list[Replayed]] | None = None,
    compiled: bool = False,
) -> list[Replayed]:
    """`python -m pmo_<service> rebuild`'s work: empty the views, replay the store through them, commit."""
    name = service.name
    await asyncio.to_thread(upgrade, url, service.migrations, service.metadata)
    mine = service_events(history, name)
    kinds = Counter(event.type.split(".")[2] for event in mine)
    # What the figure covers: which of the service's types, how many of each.
    mix = ", ".join(f"{kind} {count}" for kind, count in kinds.most_common())
    print(f"  {name}'s store: {len(mine)} events of {len(kinds)} types: {mix}")
    db = Database(url)
    try:
        for start in range(0, len(mine), 5000):
            async with db.transaction() as session:
                rows = [_row(e, to_kafka(e).value) for e in mine[start : start + 5000]]
                await session.execute(events_table.insert(), rows)
        runs = []
        for _ in range(repeat):
            with Timed(url.rsplit("/", 1)[1]) as timed:
                replayed = await rebuild_inline_views(
                    db,
                    EventStore(source=f"/pmo/{name}", topic=None),
                    tables=service.view_tables,
                    projectors=service.projectors,
                )
            runs.append(Replayed(f"{name} rebuild", replayed, timed.seconds, timed.cpu_ms))
        if floors is not None:
            floors += await floor(db, name, repeat, reporting=False, compiled=compiled)
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
    parser.add_argument(
        "--services",
        default="reporting,resourcing,portfolio,intake",
        help="whose rebuild to time, comma-separated (default: all four; reporting only when named)",
    )
    parser.add_argument(
        "--history",
        choices=("delivered", "legacy"),
        default="delivered",
        help="delivered: delivery and proposals' paths as the product records them; legacy: before 2026-11-30",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="processes reporting's rebuild may fold in (what PMO_REBUILD_WORKERS sets in a service; the variable is "
        "not read here; default 1: serial, as a service's default; 0: pod_cpus(), the cgroup CPU limit, else the "
        "CPU affinity)",
    )
    parser.add_argument(
        "--floor",
        action="store_true",
        help="also time reading each rebuild's events alone, and with decoding: what a cheaper fold cannot go below",
    )
    parser.add_argument(
        "--floor-compiled",
        action="store_true",
        help="--floor, also decoding by compiled_decoder.py's derived decoder and by its msgspec structs alone",
    )
    args = parser.parse_args()
    args.floor = args.floor or args.floor_compiled
    require_tools()
    scale = with_fields(scaled(args.scale), delivery=args.history == "delivered")
    history = generate(scale)
    print(f"history ({args.history}): {len(history)} events")
    known = {service.name: service for service in (RESOURCING, PORTFOLIO, INTAKE)}
    names = [name for name in args.services.split(",") if name]
    if unknown := set(names) - {"reporting", *known}:
        parser.error(f"unknown services: {', '.join(sorted(unknown))}")
    services = [known[name] for name in names if name != "reporting"]
    reporting = "reporting" in names
    urls = [asyncio.run(create_database(ADMIN, "pmo_bench")) for _ in range(1 + reporting + len(services))]
    try:
        peer = best(peer_replay(urls[0].rsplit("/", 1)[1], len(history), args.repeat))
        floors: list[list[Replayed]] | None = [] if args.floor else None
        ours = (
            [
                best(
                    asyncio.run(
                        reporting_rebuild(
                            urls[1], history, args.repeat, floors, args.workers or pod_cpus(), args.floor_compiled
                        )
                    )
                )
            ]
            if reporting
            else []
        )
        for url, service in zip(urls[1 + reporting :], services, strict=True):
            ours.append(
                best(asyncio.run(service_rebuild(url, history, args.repeat, service, floors, args.floor_compiled)))
            )
        print("\nratios of the best runs to the peer's best (issue 17 target: ≥ 1.5), by wall time and by CPU:")
        for replayed in ours:
            print(
                f"  {replayed.name:<38} {replayed.rate / peer.rate:5.2f}x   {replayed.cpu_rate / peer.cpu_rate:5.2f}x"
            )
        if floors:
            print("\nfloors (--floor): the events read, then read and decoded, best runs; ratio to the peer by CPU:")
            for runs in floors:
                fastest = min(runs, key=lambda run: run.cpu_ms)
                print(f"{fastest.line()}   {fastest.cpu_rate / peer.cpu_rate:5.2f}x")
    finally:
        for url in urls:
            asyncio.run(drop_database(ADMIN, url))


if __name__ == "__main__":
    main()
