"""CPU per booking (`POST /allocations`) of resourcing's ASGI app driven in-process (no HTTP server, no client),
on a fresh PostgreSQL database: `commands.py --targets resourcing`'s command without uvicorn, wrk or the relay.

`--projects` active projects (written straight into the projects resourcing knows, as portfolio's events would
leave them) and `--resources` developers (registered through the API); then the bookings go round the resources
as `command_targets.py` sends them (0.1 FTE for one week of 2027 each, no week over capacity), `--warmup` first.
Prints the process CPU (`time.process_time`) per booking, the statements sent per booking and the load average;
`--profile` a cProfile of the measured bookings. Instruction counts (repeatable under load): `valgrind
--tool=callgrind --instr-atstart=no .venv/bin/python benchmarks/bookpath.py --bookings 200 --callgrind`:
instrumentation is switched on and off around the measured bookings (`callgrind_control -i`); divide the
`Collected` instructions by the bookings.

    .venv/bin/python benchmarks/bookpath.py [--bookings 1000] [--concurrency 10] [--profile] [--callgrind]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import logging
import os
import tempfile
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
from inprocess import callgrind_toggle, load_average, measured_clients, print_profile
from opentelemetry import trace
from plans import PreparedPlans
from sqlalchemy import event

from pmo_devstack.keys import ensure_dev_keys, mint_token
from pmo_devstack.testing import create_database, dev_settings, drop_database
from pmo_events.runtime import KafkaSettings
from pmo_events.runtime.migrate import upgrade
from pmo_resourcing.bootstrap import RESOURCING
from pmo_servicekit.app import create_app

ADMIN = os.environ.get("PMO_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
WEEKS = 50  # as command_targets.py


async def run(args: argparse.Namespace) -> None:
    data = Path(tempfile.mkdtemp(prefix="pmo-bookpath-"))
    private, _ = ensure_dev_keys(data)
    url = await create_database(ADMIN, "pmo_bookpath")
    try:
        await asyncio.to_thread(upgrade, url, RESOURCING.migrations, RESOURCING.metadata)
        projects = [f"bench-project-{n}" for n in range(args.projects)]
        conn = await asyncpg.connect(url.replace("+asyncpg", ""))
        try:
            await conn.executemany(
                "INSERT INTO resourcing_project_states (project_id, status, changed_at) VALUES ($1, 'active', $2)",
                [(p, datetime.now(UTC)) for p in projects],
            )
        finally:
            await conn.close()
        settings = dev_settings(RESOURCING, data, url)
        logging.getLogger().setLevel(logging.WARNING)
        # The relay is not started (no lifespan): only the request's own work is measured.
        app = create_app(RESOURCING, settings, KafkaSettings(bootstrap_servers="127.0.0.1:1"))
        trace.set_tracer_provider(app.state.telemetry.tracer_provider)
        statements: Counter[str] = Counter()

        def count(record: object) -> None:
            query = getattr(record, "query", "")
            statements[query.split(None, 1)[0].upper() if query else "?"] += 1

        @event.listens_for(app.state.runtime.db.engine.sync_engine, "connect")
        def on_connect(dbapi_connection: object, _record: object) -> None:
            dbapi_connection.driver_connection.add_query_logger(count)  # type: ignore[attr-defined]

        plans = PreparedPlans(app.state.runtime.db.engine) if args.plans else None
        token = mint_token(private.read_bytes(), subject="bench", roles=["resource_manager"])
        statuses: Counter[int] = Counter()

        async def one(path: str, body: bytes) -> bytes:
            scope = {
                "type": "http",
                "asgi": {"version": "3.0", "spec_version": "2.3"},
                "http_version": "1.1",
                "server": ("127.0.0.1", 8000),
                "client": ("127.0.0.1", 5555),
                "scheme": "http",
                "method": "POST",
                "root_path": "",
                "path": path,
                "raw_path": path.encode(),
                "query_string": b"",
                "headers": [
                    (b"host", b"127.0.0.1:8000"),
                    (b"content-type", b"application/json"),
                    (b"authorization", f"Bearer {token}".encode()),
                    (b"content-length", str(len(body)).encode()),
                ],
                "state": {},
            }
            sent = False
            answer = bytearray()

            async def receive() -> dict[str, Any]:
                nonlocal sent
                if not sent:
                    sent = True
                    return {"type": "http.request", "body": body, "more_body": False}
                await asyncio.sleep(3600)  # the client never disconnects
                raise AssertionError("unreachable")

            async def send(message: dict[str, Any]) -> None:
                if message["type"] == "http.response.start":
                    statuses[message["status"]] += 1
                elif message["type"] == "http.response.body":
                    answer.extend(message.get("body", b""))

            await app(scope, receive, send)
            return bytes(answer)

        person = json.dumps({"name": "Dev", "kind": "person", "role": "developer", "fte": "1.0", "cost_rate": "600.00"})
        people = [json.loads(await one("/resources", person.encode()))["id"] for _ in range(args.resources)]
        monday = date(2027, 1, 4)
        bookings = []
        for n in range(len(people) * WEEKS):
            start = monday + timedelta(weeks=n // len(people) % WEEKS)
            body = {
                "resource_id": people[n % len(people)],
                "project_id": projects[n % len(projects)],
                "start": start.isoformat(),
                "end": (start + timedelta(days=4)).isoformat(),
                "fte": "0.1",
                "status": "confirmed",
            }
            bookings.append(json.dumps(body).encode())
        queue = iter(bookings)

        async def client(requests: int) -> None:
            for _ in range(requests):
                await one("/allocations", next(queue))

        await asyncio.gather(*(client(args.warmup // args.concurrency) for _ in range(args.concurrency)))
        statuses.clear()
        statements.clear()
        profiler = cProfile.Profile(time.process_time) if args.profile else None  # CPU, not waiting
        mark = callgrind_toggle() if args.callgrind else (lambda: None)
        cpu, wall, done = await measured_clients(client, args.bookings, args.concurrency, profiler, mark)
        per = ", ".join(f"{name} {n / done:.2f}" for name, n in statements.most_common())
        print(
            f"bookings: {done} {dict(statuses)}; CPU {cpu * 1000:.3f} ms/booking, "
            f"wall {wall * 1000:.3f} ms/booking; statements per booking: {per}; load average {load_average()}"
        )
        print_profile(profiler, args.sort, args.top, args.dump)
        if plans is not None:
            print(await plans.report())
        await app.state.runtime.db.dispose()
    finally:
        await drop_database(ADMIN, url)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bookings", type=int, default=1000)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--projects", type=int, default=40)
    parser.add_argument("--resources", type=int, default=100)
    parser.add_argument("--profile", action="store_true", help="print a cProfile of the measured bookings")
    parser.add_argument("--plans", action="store_true", help="print each prepared statement's generic/custom plans")
    parser.add_argument("--callgrind", action="store_true", help="toggle callgrind's instrumentation around them")
    parser.add_argument("--sort", default="cumulative", help="cProfile sort key (cumulative, tottime)")
    parser.add_argument("--top", type=int, default=60, help="how many cProfile lines to print")
    parser.add_argument("--dump", help="also write the cProfile statistics to this file (pstats)")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
