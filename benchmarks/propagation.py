"""Command → visible in reporting at a steady rate: p50/p99 of the lag, and the services' RSS after the run.

Starts Tansu, ONE intake and ONE reporting process, each on a fresh PostgreSQL database. A paced client
sends `POST /proposals` at `--rate` commands per second over at most `--connections` connections (open
loop: a command is due on schedule whether or not the earlier ones were answered, and its lag counts from
that moment, so waiting for a free connection counts too; wrk's `-R` is not in Debian's wrk), and a watcher polls
reporting's database every millisecond for new rows of its event log: a command's lag is from the moment
it was sent to the moment its event was committed in reporting (the log row and the read models are
written in one transaction, so that is when reports show it).

    .venv/bin/python benchmarks/propagation.py [--rate 100] [--seconds 20] [--warmup 5] [--connections 20]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

import asyncpg
import httpx
from load import rss_mb

from pmo_devstack.broker import free_port
from pmo_devstack.keys import dev_key_paths, mint_token
from pmo_devstack.stack import Stack
from pmo_devstack.testing import create_database, drop_database

ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def watch(url: str, seen: dict[str, float], stop: asyncio.Event) -> None:
    """When each subject first appears in reporting's committed event log."""
    conn = await asyncpg.connect(url.replace("+asyncpg", ""))
    position = await conn.fetchval("SELECT coalesce(max(seq), 0) FROM reporting_event_log")
    try:
        while not stop.is_set():
            rows = await conn.fetch(
                "SELECT seq, subject FROM reporting_event_log WHERE seq > $1 ORDER BY seq", position
            )
            now = time.perf_counter()
            for seq, subject in rows:
                seen.setdefault(subject, now)
                position = seq
            await asyncio.sleep(0.001)
    finally:
        await conn.close()


async def paced(
    intake: httpx.AsyncClient,
    rate: float,
    seconds: float,
    connections: int,
    sent: dict[str, float],
    failures: list[str],
) -> float:
    """`rate` commands per second for `seconds`, each due on schedule; answers the rate they were answered at."""
    gate = asyncio.Semaphore(connections)

    async def one(due: float) -> None:
        async with gate:
            try:
                answer = await intake.post("/proposals", json={"title": "Lag", "portfolio_id": "p"})
                answer.raise_for_status()
                sent[answer.json()["id"]] = due
            except httpx.HTTPError as exc:
                failures.append(f"{type(exc).__name__}: {exc}")

    tasks = []
    begin = time.perf_counter()
    for n in range(int(rate * seconds)):
        due = begin + n / rate
        if due > time.perf_counter():
            await asyncio.sleep(due - time.perf_counter())
        tasks.append(asyncio.create_task(one(due)))
    await asyncio.gather(*tasks)
    return len(tasks) / (time.perf_counter() - begin)


async def run(stack: Stack, reporting_url: str, token: str, args: argparse.Namespace) -> None:
    seen: dict[str, float] = {}
    stop = asyncio.Event()
    watcher = asyncio.create_task(watch(reporting_url, seen, stop))
    limits = httpx.Limits(max_connections=args.connections, max_keepalive_connections=args.connections)
    async with httpx.AsyncClient(
        base_url=stack.url("intake"), headers={"Authorization": f"Bearer {token}"}, limits=limits, timeout=60
    ) as intake:
        if args.warmup:
            await paced(intake, args.rate, args.warmup, args.connections, {}, [])
        sent: dict[str, float] = {}
        failures: list[str] = []
        achieved = await paced(intake, args.rate, args.seconds, args.connections, sent, failures)
        deadline = time.perf_counter() + 60
        while time.perf_counter() < deadline and not all(i in seen for i in sent):  # noqa: ASYNC110 (polling)
            await asyncio.sleep(0.05)
    stop.set()
    await watcher
    lags = [(seen[i] - t) * 1000 for i, t in sent.items() if i in seen]
    missing = len(sent) - len(lags)
    print(
        f"\n{args.rate:g} commands/s due for {args.seconds:g} s ({achieved:.1f}/s answered),"
        f" {len(sent)} answered, {len(failures)} failed, {missing} not seen in reporting within 60 s"
    )
    if lags:
        p50, p99 = percentile(lags, 0.5), percentile(lags, 0.99)
        print(
            f"  command → visible in reporting: p50 {p50:7.1f} ms   p99 {p99:7.1f} ms"
            f"   mean {statistics.mean(lags):7.1f} ms   max {max(lags):7.1f} ms"
        )
    for failure in failures[:3]:
        print(f"  failure: {failure}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=100.0, help="commands per second")
    parser.add_argument("--seconds", type=float, default=20.0, help="measured seconds")
    parser.add_argument("--connections", type=int, default=20, help="most commands in flight at once")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds at the same rate before measuring")
    args = parser.parse_args()
    intake_url, reporting_url = (asyncio.run(create_database(ADMIN, "pmo_bench")) for _ in range(2))
    data_dir = Path(tempfile.mkdtemp(prefix="pmo-propagation-"))
    stack = Stack(
        data_dir,
        ports={"intake": free_port(), "reporting": free_port()},
        services=["intake", "reporting"],
        log=lambda _line: None,
        extra_env={"PMO_LOG_LEVEL": "warning"},
        service_env={"intake": {"PMO_DATABASE_URL": intake_url}, "reporting": {"PMO_DATABASE_URL": reporting_url}},
    )
    try:
        stack.start()
        token = mint_token(dev_key_paths(data_dir)[0].read_bytes(), subject="bench", roles=["requester"])
        asyncio.run(run(stack, reporting_url, token, args))
        for name in ("intake", "reporting"):
            process = stack.process(name)
            assert process is not None
            print(f"  {name} RSS after the run: {rss_mb(process.pid):.0f} MB")
    finally:
        stack.stop()
        for url in (intake_url, reporting_url):
            asyncio.run(drop_database(ADMIN, url))


if __name__ == "__main__":
    main()
