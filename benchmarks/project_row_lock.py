"""What `FOR UPDATE` costs on the projects row's read that a multi-event project append makes for each event but
its last (`pmo_portfolio.delivery.views._READ`, session 15): the read and the row's UPDATE that follows it, in one
transaction, as the append sends them through asyncpg, with and without the lock, alternated in blocks. Prints,
per block, the database backend's CPU (`/proc`, its ticks: coarse, so many transactions a block) and the wall time
per transaction; the row is a real project's state (about 2 KB of JSON).

    .venv/bin/python benchmarks/project_row_lock.py [--transactions 3000] [--pairs 5]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time

import asyncpg
from load import process_cpu_ms

ADMIN = os.environ.get("PMO_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")
STATE = '{"project_id":"p-1","lessons":0,"realisations":0,' + ",".join(f'"f{i}":"{"x" * 40}"' for i in range(40)) + "}"
READ = "SELECT state FROM bench_projects WHERE project_id = $1"
UPDATE = "UPDATE bench_projects SET state = $2, version = version + 1 WHERE project_id = $1"


async def block(connection: asyncpg.Connection, pid: int, read: str, transactions: int) -> tuple[float, float]:
    cpu = process_cpu_ms([pid])[pid]
    started = time.perf_counter()
    for _ in range(transactions):
        async with connection.transaction():
            state = await connection.fetchval(read, "p-1")
            await connection.execute(UPDATE, "p-1", state)
    wall = (time.perf_counter() - started) * 1e6 / transactions
    return (process_cpu_ms([pid])[pid] - cpu) * 1000 / transactions, wall


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--transactions", type=int, default=3000)
    parser.add_argument("--pairs", type=int, default=5)
    args = parser.parse_args()
    connection = await asyncpg.connect(ADMIN)
    try:
        await connection.execute("DROP TABLE IF EXISTS bench_projects")
        await connection.execute(
            "CREATE TABLE bench_projects"
            " (project_id VARCHAR(36) PRIMARY KEY, version INT NOT NULL, state TEXT NOT NULL)"
        )
        await connection.execute("INSERT INTO bench_projects (project_id, version, state) VALUES ('p-1', 1, $1)", STATE)
        pid = await connection.fetchval("SELECT pg_backend_pid()")
        figures: dict[str, list[tuple[float, float]]] = {"plain": [], "for update": []}
        for pair in range(args.pairs):
            order = [("plain", READ), ("for update", READ + " FOR UPDATE")]
            for label, read in order if pair % 2 == 0 else order[::-1]:
                cpu, wall = await block(connection, pid, read, args.transactions)
                figures[label].append((cpu, wall))
                print(f"pair {pair} {label:10} backend CPU {cpu:6.1f} us/txn, wall {wall:6.1f} us/txn, "
                      f"load {os.getloadavg()[0]:.1f}", flush=True)  # fmt: skip
        for label, rows in figures.items():
            print(f"{label:10} median backend CPU {statistics.median(c for c, _ in rows):6.1f} us/txn, "
                  f"median wall {statistics.median(w for _, w in rows):6.1f} us/txn")  # fmt: skip
    finally:
        await connection.execute("DROP TABLE IF EXISTS bench_projects")
        await connection.close()


if __name__ == "__main__":
    asyncio.run(main())
