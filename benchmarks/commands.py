"""Command path against two peers in one run: commands/s, p50/p99, server CPU per command; propagation.

Starts Tansu and ONE intake process (one uvicorn worker, or `--workers N`) on a fresh PostgreSQL
database, and the two peers from `benchmarks/peers/` on their own fresh databases: FastAPI + one
SQLAlchemy Core INSERT per POST, and FastAPI + pyeventsourcing 9.5.6 (one aggregate per POST).
wrk drives `POST /proposals` on each with the same body and connection count; the server's CPU
time (its whole process tree, from /proc) is read around each run. Intake's relay publishes every
event during the run, and the run ends only once the outbox is empty. Then it measures
propagation: a command in intake until its event is in reporting's event log.

`--targets intake,portfolio,resourcing` measures portfolio's project status report and resourcing's booking
too, each service on its own fresh PostgreSQL database and alone on the CPUs while measured (the others
stopped), against the same two peers, with the same ratios (`command_targets.py`: what each posts and the
data it needs first, made through the public APIs).

    make bench-env   # once: the peers' pinned environment, and `apt-get install -y wrk`
    .venv/bin/python benchmarks/commands.py [--seconds 10] [--connections 10] [--workers 1]
        [--targets intake,portfolio,resourcing] [--projects 40] [--resources 100] [--peer-workers 1]

`--workers 2 --peer-workers 2` beside a one-worker run measures what a second worker buys intake and what it
buys a plain INSERT endpoint on the same cores (issue 17 asks 1.6x of intake); `--connections 20` or 40 keeps more
commands in flight than one worker's commit flushes allow. Each run prints its ceiling: the CPU per command of the
app, its database's backends, PostgreSQL's background processes, the broker and wrk (its own CPU), summed, and
the rate the machine's cores allow at that sum, beside the cores the whole machine kept busy during the run.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import os
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import asyncpg
import httpx
from command_targets import NEEDS, Target, prepare
from load import Figures, RssSampler, backends, es_env, process_cpu_ms, require_tools, rss_mb, start_peer, tree, wrk

from pmo_devstack.broker import free_port
from pmo_devstack.keys import dev_key_paths, mint_token
from pmo_devstack.stack import Stack
from pmo_devstack.testing import create_database, drop_database

ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
#: the cores the app, PostgreSQL, the broker and wrk share (the ceiling each run prints is taken on them).
CORES = os.cpu_count() or 1


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def propagation(stack: Stack, headers: dict[str, str], samples: int) -> list[float]:
    lags = []
    async with (
        httpx.AsyncClient(base_url=stack.url("intake"), headers=headers) as intake,
        httpx.AsyncClient(base_url=stack.url("reporting"), headers=headers) as reporting,
    ):
        for _ in range(samples):
            started = time.perf_counter()
            proposal_id = (await intake.post("/proposals", json={"title": "Lag", "portfolio_id": "p"})).json()["id"]
            # The history is a page (`items`) since reporting API 2.0.
            while not (await reporting.get(f"/history/{proposal_id}")).json()["items"]:  # noqa: ASYNC110 (polling HTTP)
                await asyncio.sleep(0.001)
            lags.append(time.perf_counter() - started)
    return lags


async def outbox_drained(url: str, timeout: float = 120.0) -> tuple[int, float]:
    """Wait until the relay has published every event; answers (events, seconds waited)."""
    conn = await asyncpg.connect(url.replace("+asyncpg", ""))
    started = time.perf_counter()
    try:
        while time.perf_counter() - started < timeout:
            pending = await conn.fetchval("SELECT count(*) FROM pmo_outbox WHERE published_at IS NULL")
            if pending == 0:
                return await conn.fetchval("SELECT count(*) FROM pmo_events"), time.perf_counter() - started
            await asyncio.sleep(0.1)
    finally:
        await conn.close()
    raise RuntimeError("the relay did not publish every event in time")


def start_stack(args: argparse.Namespace, urls: dict[str, str], data_dir: Path) -> Stack:
    """The services the targets need (intake and reporting always), each measured one on its PostgreSQL database."""
    names = [
        "intake",
        "reporting",
        *(n for n in ("portfolio", "resourcing") if any(n in NEEDS[t] for t in args.targets)),
    ]
    stack = Stack(
        data_dir,
        ports={name: free_port() for name in names},
        services=names,
        log=lambda _line: None,
        extra_env={"PMO_LOG_LEVEL": "warning", "PMO_HTTP_WORKERS": str(args.workers)},
        service_env={name: {"PMO_DATABASE_URL": url} for name, url in urls.items()},
    )
    stack.start()
    return stack


def alone(
    args: argparse.Namespace, stack: Stack, target: Target, data_dir: Path
) -> tuple[subprocess.Popen[bytes], Callable[..., Figures]]:
    """The target's service alone on the CPUs (every other service stopped) and wrk on its command (`seconds=`)."""
    for name in stack.services:
        if name != target.service and stack.running(name):
            stack.stop_service(name)
    if not stack.running(target.service):
        stack.start_service(target.service)
    key = dev_key_paths(data_dir)[0].read_bytes()
    token = mint_token(key, subject="bench", roles=list(target.roles))
    process = stack.process(target.service)
    assert process is not None
    requests = target.write_requests(data_dir)
    url_of_run = stack.url(target.service) + target.path
    name = f"{target.name} ({args.workers} worker{'s' if args.workers > 1 else ''})"
    run = functools.partial(
        wrk, name, url_of_run, process.pid, connections=args.connections, token=token, request_file=requests
    )
    return process, run


class Beside:
    """CPU the work of one run costs outside the measured processes: the PostgreSQL backends serving its database,
    the server's background processes (WAL writer, checkpointer, background writer, autovacuum: shared by every
    database on the server, so anyone else's work counts too) and the broker (with `--workers 2` the second core is
    shared with them: what two workers can gain). Backends that end during the run take their CPU with them (the
    pools keep theirs open)."""

    def __init__(self, url: str, broker_pid: int | None = None) -> None:
        self.database = url.rsplit("/", 1)[1]
        self.broker = tree(broker_pid) if broker_pid else []
        self.before: dict[int, float] = {}
        self.before_broker: dict[int, float] = {}
        self.before_background: dict[int, float] = {}
        self.database_ms = self.background_ms = self.broker_ms = 0.0

    def start(self) -> None:
        self.before = process_cpu_ms(backends(self.database))
        self.before_broker = process_cpu_ms(self.broker)
        self.before_background = process_cpu_ms(background_processes())
        self.before_counts = database_counts(self.database)

    def stop(self, requests: int) -> str:
        after = process_cpu_ms(backends(self.database))
        self.database_ms = sum(cpu - self.before.get(pid, 0.0) for pid, cpu in after.items()) / max(requests, 1)
        broker_after = process_cpu_ms(self.broker)
        self.broker_ms = sum(cpu - self.before_broker.get(pid, 0.0) for pid, cpu in broker_after.items()) / max(
            requests, 1
        )
        background_after = process_cpu_ms(background_processes())
        self.background_ms = sum(
            cpu - self.before_background.get(pid, 0.0) for pid, cpu in background_after.items()
        ) / max(requests, 1)
        text = (
            f"PostgreSQL backends {self.database_ms:.2f} ms ({len(after)} backends),"
            f" server background {self.background_ms:.2f} ms"
        )
        return text + (f", broker {self.broker_ms:.2f} ms" if self.broker else "")

    def ceiling(self, figures: Figures, cores: int) -> str:
        """What `cores` cores allow at this run's CPU per command, everything on them counted: the app, its
        database's backends, the server's background processes, the broker and wrk."""
        parts = {
            "app": figures.cpu_per_request,
            "backends": self.database_ms,
            "pg background": self.background_ms,
            "broker": self.broker_ms,
            "wrk": figures.client_cpu_per_request,
        }
        total = sum(parts.values())
        ceiling = cores * 1000 / total if total else float("nan")
        return (
            f"{' + '.join(f'{name} {ms:.2f}' for name, ms in parts.items())} = {total:.2f} ms per command:"
            f" {cores} cores allow {ceiling:,.0f}/s, {ceiling / max(figures.rate, 1e-9):.2f}x this run's"
            f" {figures.rate:,.0f}/s (machine busy {figures.machine_busy:.2f} cores during it)"
        )

    def counts(self, requests: int) -> str:
        """Transactions and rows of the database per command, from `start` until now (its statistics as its
        backends have flushed them: read a second or more after the work ends)."""
        after = database_counts(self.database)
        return ", ".join(f"{name} {(after[name] - self.before_counts[name]) / max(requests, 1):.2f}" for name in after)


def background_processes() -> list[int]:
    """The PostgreSQL server's processes that serve no client: WAL writer, checkpointer, autovacuum..."""
    out = subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-At", "-c",
         "SELECT pid FROM pg_stat_activity WHERE backend_type <> 'client backend'"],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    return [int(line) for line in out.split()]


def database_counts(database: str) -> dict[str, int]:
    """pg_stat_database's transactions and rows written for one database (the local server, read with psql)."""
    names = ("xact_commit", "xact_rollback", "tup_inserted", "tup_updated", "tup_deleted")
    out = subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-At", "-F", " ", "-c",
         f"SELECT {', '.join(names)} FROM pg_stat_database WHERE datname = '{database}'"],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    return dict(zip(names, map(int, out.split()), strict=True))


def measure(args: argparse.Namespace, stack: Stack, target: Target, url: str, data_dir: Path) -> Figures:
    """wrk on the target's service alone on the CPUs, its relay publishing every event before it ends."""
    process, run = alone(args, stack, target, data_dir)
    run(seconds=2)  # warm-up
    processes = tree(process.pid)
    broker = stack.broker
    beside = Beside(url, broker.process.pid if broker is not None else None)
    beside.start()
    before = process_cpu_ms(processes)
    with RssSampler(process.pid) as rss:
        figures = run(seconds=args.seconds)
    after = process_cpu_ms(processes)
    print(f"  {target.service} CPU per command beside its own: {beside.stop(figures.requests)}")
    print(f"  {target.service} ceiling: {beside.ceiling(figures, CORES)}")
    if args.workers > 1:  # the main process (uvicorn's supervisor) and each worker: which one does what
        print(
            f"  {target.service} CPU per command by process: "
            + ", ".join(f"{pid} {(after[pid] - before[pid]) / max(figures.requests, 1):.2f} ms" for pid in after)
        )
    published, waited = asyncio.run(outbox_drained(url))
    print(
        f"  {target.service}: {published} events, every one published ({waited:.1f}s after the run);"
        f" peak RSS {rss.peak:.0f} MB"
    )
    time.sleep(1.5)  # a backend flushes its statistics at most once a second
    print(f"  {target.service} database per command (the run and the relay's drain): {beside.counts(figures.requests)}")
    return figures


def measure_peer(name: str, app: str, env: dict[str, str], args: argparse.Namespace, database_url: str) -> Figures:
    port = free_port()
    process = start_peer(app, port, env, args.peer_workers)
    try:
        url = f"http://127.0.0.1:{port}/proposals"
        wrk(name, url, process.pid, seconds=2, connections=args.connections)
        beside = Beside(database_url)
        beside.start()
        figures = wrk(name, url, process.pid, seconds=args.seconds, connections=args.connections)
        print(f"  {name} CPU per command beside its own: {beside.stop(figures.requests)}")
        print(f"  {name} ceiling: {beside.ceiling(figures, CORES)}")
        print(f"  {name}: RSS {rss_mb(process.pid):.0f} MB")
        time.sleep(1.5)
        print(f"  {name} database per command: {beside.counts(figures.requests)}")
        return figures
    finally:
        process.terminate()
        process.wait(10)


def print_ratios(target: Figures, insert: Figures, es: Figures) -> None:
    print(f"\nratios of {target.name} (issue 17 targets in brackets):")
    print(f"  commands/s  vs INSERT peer          {target.rate / insert.rate:5.2f}x  [≥ 0.6]")
    print(f"  commands/s  vs pyeventsourcing peer {target.rate / es.rate:5.2f}x  [≥ 2]")
    print(f"  CPU/command vs INSERT peer          {target.cpu_per_request / insert.cpu_per_request:5.2f}x  [≤ 1.7]")
    print(f"  p99         vs INSERT peer          {target.p99 / insert.p99:5.2f}x  [≤ 1.5]")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=10)
    parser.add_argument("--workers", type=int, default=1, help="PMO_HTTP_WORKERS for the measured services")
    parser.add_argument("--samples", type=int, default=200, help="propagation samples (0 skips)")
    parser.add_argument(
        "--peer-workers", type=int, default=1, help="uvicorn workers of each peer (two ÷ one: what the machine allows)"
    )
    parser.add_argument(
        "--targets",
        type=lambda text: text.split(","),
        default=["intake"],
        help="services whose command is measured, in order: intake,portfolio,resourcing (command_targets.py)",
    )
    parser.add_argument("--projects", type=int, default=40, help="projects the portfolio and resourcing targets use")
    parser.add_argument("--resources", type=int, default=100, help="resources the resourcing target books")
    args = parser.parse_args()
    if set(args.targets) - set(NEEDS):
        parser.error(f"--targets: one or more of {', '.join(NEEDS)}")
    require_tools()
    measured = {
        name: asyncio.run(create_database(ADMIN, "pmo_bench")) for name in dict.fromkeys(["intake", *args.targets])
    }
    insert_url, es_url = (asyncio.run(create_database(ADMIN, "pmo_bench")) for _ in range(2))
    data_dir = Path(tempfile.mkdtemp(prefix="pmo-bench-"))
    stack: Stack | None = None
    try:
        stack = start_stack(args, measured, data_dir)
        targets = prepare(stack, args.targets, projects=args.projects, resources=args.resources)
        results = [measure(args, stack, targets[name], measured[name], data_dir) for name in args.targets]
        insert = measure_peer(
            "peer: FastAPI + SQLAlchemy Core INSERT", "insert_app", {"PEER_DATABASE_URL": insert_url}, args, insert_url
        )
        es = measure_peer(
            "peer: FastAPI + pyeventsourcing 9.5.6", "es_app", es_env(es_url.rsplit("/", 1)[1]), args, es_url
        )
        print(f"\nwrk, {args.connections} connections, {args.seconds} s each, one after another, on this machine:")
        for figures in (*results, insert, es):
            print(figures.line())
        for figures in results:
            print_ratios(figures, insert, es)
        if args.samples:
            for name in ("intake", "reporting"):
                if not stack.running(name):
                    stack.start_service(name)
            token = mint_token(dev_key_paths(data_dir)[0].read_bytes(), subject="bench", roles=["requester"])
            headers = {"Authorization": f"Bearer {token}"}
            asyncio.run(propagation(stack, headers, 20))  # reporting catches up on the run's events first
            lags = asyncio.run(propagation(stack, headers, args.samples))
            p50, p99 = percentile(lags, 0.5) * 1000, percentile(lags, 0.99) * 1000
            print(
                f"\n{'command → reporting event log':<56} {len(lags):8d} samples   p50 {p50:6.1f} ms"
                f"   p99 {p99:6.1f} ms   mean {statistics.mean(lags) * 1000:6.1f} ms"
            )
    finally:
        if stack is not None:
            stack.stop()
        for url in (*measured.values(), insert_url, es_url):
            asyncio.run(drop_database(ADMIN, url))


if __name__ == "__main__":
    main()
