"""CPU per `POST /proposals` of intake's ASGI app driven in-process (no HTTP server, no client): the command
path on a fresh PostgreSQL database, or with `--edge-only` just the HTTP layer (middleware, routing,
dependencies, body validation, answer) in front of a command that does nothing.

    .venv/bin/python benchmarks/edge.py [--requests 1500] [--concurrency 10] [--edge-only] [--profile]

Instruction counts (repeatable under load): `valgrind --tool=callgrind --instr-atstart=no .venv/bin/python
benchmarks/edge.py --requests 200 --callgrind`: instrumentation is switched on and off around the measured
requests (`callgrind_control -i`); divide the `Collected` instructions by the requests.

Prints the process CPU (`time.process_time`) per request and the load average. In-process, so neither
uvicorn's HTTP parsing nor wrk's share of the cores is in the figure; alternate the code before and after
on a loaded machine and compare the minimum of several runs.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import logging
import tempfile
from pathlib import Path
from typing import Any

from inprocess import callgrind_toggle, load_average, measured_clients, print_profile
from opentelemetry import trace

from pmo_devstack.keys import (
    ensure_dev_keys,
    mint_token,
)
from pmo_devstack.testing import create_database, dev_settings, drop_database
from pmo_events.runtime import KafkaSettings
from pmo_events.runtime.migrate import upgrade
from pmo_intake.bootstrap import INTAKE
from pmo_servicekit.app import create_app

ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
BODY = b'{"title":"Bench","portfolio_id":"p"}'  # benchmarks/post.lua's


def _edge_only() -> None:
    """The route runs, `run_command` answers a fixed proposal without a unit of work."""
    import pmo_intake.adapters.http.routes as routes
    from pmo_servicekit.http import answer

    view = {"id": "x", "title": "Bench", "portfolio_id": "p", "version": 1, "status": "draft"}

    async def no_command(_request: Any, _principal: Any, _action: Any) -> Any:
        return answer(view, 1, status_code=201, location="/proposals/x")

    routes.run_command = no_command  # type: ignore[assignment]


async def run(args: argparse.Namespace) -> None:
    data = Path(tempfile.mkdtemp(prefix="pmo-edge-"))
    private, _ = ensure_dev_keys(data)
    url = await create_database(ADMIN, "pmo_edge")
    try:
        await asyncio.to_thread(upgrade, url, INTAKE.migrations, INTAKE.metadata)
        settings = dev_settings(INTAKE, data, url)
        logging.getLogger().setLevel(logging.WARNING)  # as `PMO_LOG_LEVEL=warning` in benchmarks/commands.py
        if args.edge_only:
            _edge_only()
        # The relay is not started (no lifespan): only the request's own work is measured.
        app = create_app(INTAKE, settings, KafkaSettings(bootstrap_servers="127.0.0.1:1"))
        # As `serve` (pmo_servicekit.cli) does: the service's tracer provider is the global one, which libraries
        # that look for a global provider (FastAPI's own telemetry among them) see.
        trace.set_tracer_provider(app.state.telemetry.tracer_provider)
        token = mint_token(private.read_bytes(), subject="bench", roles=["requester"])
        headers = [
            (b"host", b"127.0.0.1:8000"),
            (b"content-type", b"application/json"),
            (b"authorization", f"Bearer {token}".encode()),
            (b"content-length", str(len(BODY)).encode()),
        ]
        statuses: dict[int, int] = {}

        async def one() -> None:
            scope = {
                "type": "http",
                "asgi": {"version": "3.0", "spec_version": "2.3"},
                "http_version": "1.1",
                "server": ("127.0.0.1", 8000),
                "client": ("127.0.0.1", 5555),
                "scheme": "http",
                "method": "POST",
                "root_path": "",
                "path": "/proposals",
                "raw_path": b"/proposals",
                "query_string": b"",
                "headers": list(headers),
                "state": {},
            }
            sent = False

            async def receive() -> dict[str, Any]:
                nonlocal sent
                if not sent:
                    sent = True
                    return {"type": "http.request", "body": BODY, "more_body": False}
                await asyncio.sleep(3600)  # the client never disconnects
                raise AssertionError("unreachable")

            async def send(message: dict[str, Any]) -> None:
                if message["type"] == "http.response.start":
                    statuses[message["status"]] = statuses.get(message["status"], 0) + 1

            await app(scope, receive, send)

        async def client(requests: int) -> None:
            for _ in range(requests):
                await one()

        await asyncio.gather(*(client(20) for _ in range(args.concurrency)))  # warm-up
        statuses.clear()
        profiler = cProfile.Profile() if args.profile else None
        mark = callgrind_toggle() if args.callgrind else (lambda: None)
        cpu, wall, done = await measured_clients(client, args.requests, args.concurrency, profiler, mark)
        print(
            f"{'edge only' if args.edge_only else 'command path'}: {done} requests {statuses}; "
            f"CPU {cpu * 1000:.3f} ms/request, wall {wall * 1000:.3f} ms/request; load average {load_average()}"
        )
        print_profile(profiler, args.sort, args.top, args.dump)
        await app.state.runtime.db.dispose()
    finally:
        await drop_database(ADMIN, url)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=1500)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--edge-only", action="store_true", help="a command that does nothing: the HTTP layer alone")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of the measured requests")
    parser.add_argument("--sort", default="cumulative", help="cProfile sort key (cumulative, tottime)")
    parser.add_argument("--top", type=int, default=60, help="how many cProfile lines to print")
    parser.add_argument("--callgrind", action="store_true", help="toggle callgrind's instrumentation around them")
    parser.add_argument("--dump", help="also write the cProfile statistics to this file (pstats)")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
