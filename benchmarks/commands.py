"""Command throughput and latency of one service process on PostgreSQL, and end-to-end propagation.

Starts Tansu and ONE intake process on a fresh PostgreSQL database, drives `POST /proposals` (one
command = one transaction: event, outbox row, inline view) from N concurrent HTTP clients, and
prints commands/s and latency percentiles. The peer measured in the same run is raw PostgreSQL:
the same number of concurrent clients each committing one single-row INSERT per transaction.
Then it measures propagation: a command in intake until its event is in reporting's event log.

    .venv/bin/python benchmarks/commands.py [--seconds 10] [--clients 10]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg
import httpx

from pmo_devstack.broker import free_port
from pmo_devstack.keys import dev_key_paths, mint_token
from pmo_devstack.stack import Stack
from pmo_devstack.testing import create_database, drop_database

ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def drive(url: str, headers: dict[str, str], clients: int, seconds: float) -> list[float]:
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds

    async def client_loop() -> None:
        async with httpx.AsyncClient(base_url=url, headers=headers, timeout=30) as client:
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                r = await client.post("/proposals", json={"title": "Bench", "portfolio_id": "p"})
                latencies.append(time.perf_counter() - started)
                assert r.status_code == 201, r.text

    await asyncio.gather(*(client_loop() for _ in range(clients)))
    return latencies


async def raw_postgres(dsn: str, clients: int, seconds: float) -> list[float]:
    pool = await asyncpg.create_pool(dsn, min_size=clients, max_size=clients)
    await pool.execute("CREATE TABLE bench (id uuid PRIMARY KEY, body text)")
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds

    async def client_loop() -> None:
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            async with pool.acquire() as conn, conn.transaction():
                await conn.execute("INSERT INTO bench VALUES ($1, $2)", uuid.uuid4(), "x" * 200)
            latencies.append(time.perf_counter() - started)

    await asyncio.gather(*(client_loop() for _ in range(clients)))
    await pool.close()
    return latencies


async def propagation(stack: Stack, headers: dict[str, str], samples: int) -> list[float]:
    lags = []
    async with (
        httpx.AsyncClient(base_url=stack.url("intake"), headers=headers) as intake,
        httpx.AsyncClient(base_url=stack.url("reporting"), headers=headers) as reporting,
    ):
        for _ in range(samples):
            started = time.perf_counter()
            proposal_id = (await intake.post("/proposals", json={"title": "Lag", "portfolio_id": "p"})).json()["id"]
            while not (await reporting.get(f"/history/{proposal_id}")).json()["events"]:  # noqa: ASYNC110 (polling HTTP)
                await asyncio.sleep(0.001)
            lags.append(time.perf_counter() - started)
    return lags


def report(name: str, latencies: list[float], seconds: float) -> None:
    print(
        f"{name:<34} {len(latencies) / seconds:8.0f}/s   p50 {percentile(latencies, 0.5) * 1000:6.1f} ms"
        f"   p99 {percentile(latencies, 0.99) * 1000:6.1f} ms   max {max(latencies) * 1000:6.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--samples", type=int, default=200)
    args = parser.parse_args()
    intake_url = asyncio.run(create_database(ADMIN, "pmo_bench"))
    peer_url = asyncio.run(create_database(ADMIN, "pmo_bench"))
    data_dir = Path(tempfile.mkdtemp(prefix="pmo-bench-"))
    stack = Stack(
        data_dir,
        ports={"intake": free_port(), "reporting": free_port()},
        services=["intake", "reporting"],
        log=lambda _line: None,
        extra_env={"PMO_LOG_LEVEL": "warning"},
        service_env={"intake": {"PMO_DATABASE_URL": intake_url}},
    )
    try:
        stack.start()
        key = dev_key_paths(data_dir)[0].read_bytes()
        headers = {"Authorization": f"Bearer {mint_token(key, subject='bench', roles=['requester'])}"}
        asyncio.run(drive(stack.url("intake"), headers, args.clients, 2))  # warm-up
        latencies = asyncio.run(drive(stack.url("intake"), headers, args.clients, args.seconds))
        peer = asyncio.run(raw_postgres(peer_url.replace("+asyncpg", ""), args.clients, args.seconds))
        lags = asyncio.run(propagation(stack, headers, args.samples))
        print(f"\n{args.clients} concurrent clients, {args.seconds:.0f} s each, on this machine:")
        report("intake POST /proposals (PostgreSQL)", latencies, args.seconds)
        report("peer: raw PostgreSQL INSERT+COMMIT", peer, args.seconds)
        print(
            f"{'command → reporting event log':<34} {len(lags):8d} samples   p50 {percentile(lags, 0.5) * 1000:6.1f} ms"
            f"   p99 {percentile(lags, 0.99) * 1000:6.1f} ms   mean {statistics.mean(lags) * 1000:6.1f} ms"
        )
    finally:
        stack.stop()
        asyncio.run(drop_database(ADMIN, intake_url))
        asyncio.run(drop_database(ADMIN, peer_url))


if __name__ == "__main__":
    main()
