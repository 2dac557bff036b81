"""`as_of` at 200,000 events: the portfolio summary over HTTP from a reporting process, cold and warm; its RSS.

Loads a generated PMO history (`services/reporting/benchmarks/history.py`, about 200,000 events at the
default `--scale 1.53`) into a fresh PostgreSQL database's event log, rebuilds every read model, and runs
the checkpoint sweep a reporting process would run in the background (checkpoints kept in the database).
Then it starts ONE reporting process on that database and asks for the summary `as_of` instants across the
history over HTTP:

- first question of a fresh process: the process is restarted before each of `--restarts` questions;
- cold instant: an instant this process was never asked about (its checkpoint is read from the database);
- warm: the same instant asked again (median of `--repeat`).

and prints the process's RSS after all that (and its peak while answering), and again after `--settle` seconds idle.

    .venv/bin/python benchmarks/asof.py [--scale 1.53] [--instants 12] [--repeat 5] [--restarts 3]
    .venv/bin/python benchmarks/asof.py --keep                            # prints the database's URL
    .venv/bin/python benchmarks/asof.py --database-url URL [--reuse-checkpoints] [--pieces]

`--pieces` times a cold answer's pieces in this process instead (find, read, decompress, parse, read the
log's tail, fold, flatten, summary) at instants never asked.
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
import zlib
from datetime import datetime, timedelta
from pathlib import Path

import httpx
from load import RssSampler, rss_mb

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "services" / "reporting" / "benchmarks"))

from history import SPAN_DAYS, START, generate, scaled
from run import load_log, rebuild_all
from sqlalchemy import select, text

from pmo_devstack.broker import free_port
from pmo_devstack.keys import dev_key_paths, mint_token
from pmo_devstack.stack import Stack
from pmo_devstack.testing import create_database, drop_database
from pmo_events.runtime import Database
from pmo_events.runtime.migrate import upgrade
from pmo_reporting.adapters.db.checkpoints import decode, nearest_checkpoint
from pmo_reporting.adapters.db.tables import checkpoints, event_log
from pmo_reporting.application.live import answering_generation
from pmo_reporting.application.log_reader import log_head, stream_log
from pmo_reporting.application.time_travel import EVENTS_PER_CHECKPOINT, Checkpoint, Checkpoints, _passes, sweep
from pmo_reporting.bootstrap import REPORTING
from pmo_reporting.projections.catalogue import PORTFOLIO
from pmo_reporting.projections.documents import LayeredDocuments
from pmo_reporting.reports.summary import portfolio_summary

ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
SUMMARY = "/reports/portfolios/pf-0/summary"


async def prepare(url: str, scale: float) -> int:
    sized = scaled(scale)
    print(f"generating a history at scale {scale} ...", flush=True)
    events = generate(sized)
    print(f"  {len(events):,} events")
    await asyncio.to_thread(upgrade, url, REPORTING.migrations, REPORTING.metadata)
    db = Database(url)
    try:
        elapsed = await load_log(db, events, {})
        print(f"  bulk log load: {elapsed:.1f}s")
        print("rebuild (online, from the event log) ...", flush=True)
        await rebuild_all(db)
    finally:
        await db.dispose()
    return len(events)


async def checkpoint_sweep(url: str) -> int:
    """What a reporting process does in the background after its first `as_of` question (from scratch)."""
    db = Database(url)
    try:
        async with db.transaction() as session:
            await session.execute(text("DELETE FROM reporting_checkpoints"))
            events = (await session.execute(text("SELECT count(*) FROM reporting_event_log"))).scalar_one()
        started = time.perf_counter()
        await sweep(
            db, PORTFOLIO, Checkpoints(), timedelta(days=30), per=EVENTS_PER_CHECKPOINT, persist=True, lazy=True
        )
        async with db.sessions() as session:
            count, size, stored = (
                await session.execute(
                    text(
                        "SELECT count(*), coalesce(sum(length(body)), 0), coalesce(sum(pg_column_size(body)), 0)"
                        " FROM reporting_checkpoints"
                    )
                )
            ).one()
        print(
            f"  checkpoint sweep of portfolio (kept in the database): {time.perf_counter() - started:.1f}s,"
            f" {count} checkpoints, {size / 1e6:.1f} MB of bodies, {stored / 1e6:.1f} MB stored (compressed)"
        )
    finally:
        await db.dispose()
    return int(events)


async def count_events(url: str) -> int:
    db = Database(url)
    try:
        async with db.sessions() as session:
            return int((await session.execute(text("SELECT count(*) FROM reporting_event_log"))).scalar_one())
    finally:
        await db.dispose()


async def pieces(url: str, instants: list[datetime]) -> None:
    """A cold answer's pieces, timed in this process at each instant (no HTTP, no memory of earlier answers):
    find the nearest kept checkpoint, read its body, decompress (zlib bodies kept before reporting_0004),
    parse (its index, since reporting_0006), read the tail of the log, fold it, flatten, compute the summary."""
    gc.collect()
    gc.freeze()  # as a started service does (pmo_servicekit.app)
    db = Database(url)
    types = event_log.c.type.in_(sorted(PORTFOLIO.handles))
    timings: dict[str, list[float]] = {}
    try:
        for as_of in instants:
            took: dict[str, float] = {}
            cpu = time.process_time()
            async with db.sessions() as session:
                started = time.perf_counter()
                head = await log_head(session)
                generation = await answering_generation(session, PORTFOLIO.name)
                kept = await nearest_checkpoint(session, PORTFOLIO.name, generation, as_of, head)
                took["find"] = time.perf_counter() - started
                if kept is None:
                    continue
                started = time.perf_counter()
                query = select(checkpoints.c.body).where(
                    checkpoints.c.projection == PORTFOLIO.name,
                    checkpoints.c.generation == generation,
                    checkpoints.c.at == kept[0],
                )
                body = (await session.execute(query)).scalar_one()
                took["read"] = time.perf_counter() - started
                started = time.perf_counter()
                raw = zlib.decompress(body) if body[:1] == b"\x78" else body
                took["decompress"] = time.perf_counter() - started
                started = time.perf_counter()
                base = decode(raw)  # the index only, since reporting_0006 (a body before it: parsed whole)
                took["parse"] = time.perf_counter() - started
                start = Checkpoint(kept[0], kept[1], base, generation)
                docs = LayeredDocuments(base)
                folding, folded, started = 0.0, 0, time.perf_counter()
                for where, by_time in _passes(start, as_of, head):
                    async for page in stream_log(session, types, *where, by_time=by_time):
                        began = time.perf_counter()
                        for event in page:
                            PORTFOLIO.apply(docs, event)
                        folding += time.perf_counter() - began
                        folded += len(page)
                took["read tail"] = time.perf_counter() - started - folding
                took["fold"] = folding
            started = time.perf_counter()
            flat = docs.flatten()
            took["flatten"] = time.perf_counter() - started
            started = time.perf_counter()
            portfolio_summary(flat, "pf-0")
            took["summary"] = time.perf_counter() - started
            took["total"] = sum(took.values())
            took["process CPU"] = time.process_time() - cpu
            for piece, seconds in took.items():
                timings.setdefault(piece, []).append(seconds * 1000)
            print(
                f"  {as_of:%Y-%m-%d %H:%M} {len(body) / 1e6:5.1f} MB read, {len(raw) / 1e6:5.1f} MB JSON,"
                f" {folded:4} events folded: " + ", ".join(f"{k} {v * 1000:.1f}" for k, v in took.items())
            )
    finally:
        await db.dispose()
    print(
        "  medians (ms; min-max): "
        + "; ".join(
            f"{piece} {statistics.median(values):.1f} ({min(values):.1f}-{max(values):.1f})"
            for piece, values in timings.items()
        )
    )


def ask(client: httpx.Client, as_of: datetime | None) -> float:
    params = {"as_of": as_of.isoformat()} if as_of else {}
    started = time.perf_counter()
    answer = client.get(SUMMARY, params=params)
    elapsed = (time.perf_counter() - started) * 1000
    answer.raise_for_status()
    return elapsed


def cpu_ms(pid: int) -> float:
    """User + system CPU the process has used so far, in ms (repeatable under load, unlike wall time)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


def spread(count: int, shift: timedelta = timedelta(0)) -> list[datetime]:
    span = timedelta(days=SPAN_DAYS)
    return [START + span * (n + 0.37) / count + shift for n in range(count)]


def line(label: str, samples: list[float]) -> str:
    ordered = sorted(samples)
    return (
        f"  {label:<44} n={len(samples):<3} median {statistics.median(samples):7.1f} ms"
        f"   min {ordered[0]:7.1f} ms   max {ordered[-1]:7.1f} ms"
    )


def measure(url: str, args: argparse.Namespace, events: int) -> None:
    data_dir = Path(tempfile.mkdtemp(prefix="pmo-asof-"))
    stack = Stack(
        data_dir,
        ports={"reporting": free_port()},
        services=["reporting"],
        log=lambda _line: None,
        extra_env={"PMO_LOG_LEVEL": "warning"},
        service_env={"reporting": {"PMO_DATABASE_URL": url}},
    )
    stack.start()
    try:
        token = mint_token(dev_key_paths(data_dir)[0].read_bytes(), subject="bench", roles=["viewer"])
        headers = {"Authorization": f"Bearer {token}"}
        instants = spread(args.instants)
        firsts, started_rss = [], []
        for n in range(args.restarts):
            stack.stop_service("reporting")
            stack.start_service("reporting")
            started = stack.process("reporting")
            assert started is not None
            started_rss.append(rss_mb(started.pid))
            with httpx.Client(base_url=stack.url("reporting"), headers=headers, timeout=60) as client:
                firsts.append(ask(client, instants[n % len(instants)] + timedelta(hours=5)))
        process = stack.process("reporting")
        assert process is not None
        with (
            RssSampler(process.pid) as rss,
            httpx.Client(base_url=stack.url("reporting"), headers=headers, timeout=60) as client,
        ):
            live = [ask(client, None) for _ in range(args.repeat)]
            before = cpu_ms(process.pid)
            cold = [ask(client, as_of) for as_of in instants]
            cold_cpu = (cpu_ms(process.pid) - before) / len(instants)
            before = cpu_ms(process.pid)
            warm = [statistics.median(ask(client, as_of) for _ in range(args.repeat)) for as_of in instants]
            warm_cpu = (cpu_ms(process.pid) - before) / (len(instants) * args.repeat)
        after = rss_mb(process.pid)
        print(f"\nportfolio summary over HTTP, one reporting process on PostgreSQL, {events:,} events in the log:")
        print(line("live", live))
        print(line("as_of, first question of a fresh process", firsts))
        print(line("as_of, cold instant (checkpoint from the db)", cold))
        print(line(f"as_of, warm (median of {args.repeat} per instant)", warm))
        print(
            "  cold per instant (ms): "
            + ", ".join(f"{as_of:%Y-%m-%d} {ms:.1f}" for as_of, ms in zip(instants, cold, strict=True))
        )
        print(
            f"  reporting process CPU per answer (user + system, background sweep included): cold {cold_cpu:.1f} ms,"
            f" warm {warm_cpu:.1f} ms"
        )
        print(f"  reporting RSS ready, before any question: {statistics.median(started_rss):.0f} MB (median)")
        print(f"  reporting RSS after these questions: {after:.0f} MB (peak while answering {rss.peak:.0f} MB)")
        if args.settle:
            time.sleep(args.settle)
            print(f"  reporting RSS {args.settle:g} s later, no question asked meanwhile: {rss_mb(process.pid):.0f} MB")
        print(f"  load average: {os.getloadavg()}")
    finally:
        stack.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=1.53, help="1.53 = about 200,000 events")
    parser.add_argument("--instants", type=int, default=12, help="as_of instants across the history")
    parser.add_argument("--repeat", type=int, default=5, help="repetitions of each warm question")
    parser.add_argument("--restarts", type=int, default=3, help="fresh processes, one first question each")
    parser.add_argument(
        "--database-url", help="a database a `--keep` run prepared (skips generating, loading and rebuilding)"
    )
    parser.add_argument(
        "--reuse-checkpoints", action="store_true", help="with --database-url: keep its checkpoints (no sweep)"
    )
    parser.add_argument(
        "--pieces", action="store_true", help="with --database-url: time a cold answer's pieces in process, and stop"
    )
    parser.add_argument("--keep", action="store_true", help="keep the prepared database (its URL is printed)")
    parser.add_argument(
        "--settle", type=float, default=40.0, help="seconds idle after the questions before RSS is read again (0: no)"
    )
    args = parser.parse_args()
    url = args.database_url or asyncio.run(create_database(ADMIN, "pmo_bench"))
    try:
        if not args.database_url:
            asyncio.run(prepare(url, args.scale))
        else:  # a database kept by an earlier run: its schema brought up to date (as a service start would)
            upgrade(url, REPORTING.migrations, REPORTING.metadata)
        if args.pieces:
            print(f"\npieces of a cold answer, in process, {args.instants} instants never asked:", flush=True)
            asyncio.run(pieces(url, spread(args.instants, timedelta(hours=7))))
            return
        measure(url, args, asyncio.run(count_events(url) if args.reuse_checkpoints else checkpoint_sweep(url)))
    finally:
        if args.keep:
            print(f"kept: --database-url {url}")
        elif not args.database_url:
            asyncio.run(drop_database(ADMIN, url))


if __name__ == "__main__":
    main()
