"""CPU per project status report (`POST /projects/{id}/status-reports`, portfolio's command in
`commands.py --targets portfolio`) of portfolio's ASGI app driven in-process (no HTTP server, no client, no
broker) on a fresh PostgreSQL database, or SQLite with `--sqlite`.

    .venv/bin/python benchmarks/statusreport.py [--projects 40] [--requests 800] [--concurrency 10] [--profile]
        [--state-compression lz4|pglz]

Instruction counts (repeatable under load): `valgrind --tool=callgrind --instr-atstart=no .venv/bin/python
benchmarks/statusreport.py --requests 100 --callgrind`: instrumentation is switched on and off around the measured
reports (`callgrind_control -i`); divide the `Collected` instructions by the reports.

The data is made first through the app itself: a portfolio whose board is one member, `--projects` candidates
registered (as intake's ProposalSubmitted would register them) and approved (each initiates a project). The
reports go round the projects. Prints the process CPU (`time.process_time`) per report, the statements sent per
report, the CPU of the database's backends per report (`backend_cpu.BackendCpu`: those that exit during the run too;
`--no-dbcpu` leaves it out) with the connections the pool made meanwhile, and the load average. Alternate the code
before and after on a loaded machine and compare the minimum of several runs.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import logging
import tempfile
import time
from collections import Counter
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
from backend_cpu import BackendCpu
from inprocess import callgrind_toggle, load_average, measured_clients, print_profile
from opentelemetry import trace
from plans import PreparedPlans
from sqlalchemy import event

from pmo_devstack.keys import ensure_dev_keys, mint_token
from pmo_devstack.testing import create_database, dev_settings, drop_database
from pmo_events.contracts.common import (
    Benefit,
    BusinessCase,
    ObjectiveContribution,
    PeriodAmount,
    RoleEstimate,
    Timeline,
)
from pmo_events.contracts.intake import ProposalSubmitted
from pmo_events.runtime import KafkaSettings, Metadata
from pmo_events.runtime.migrate import upgrade
from pmo_portfolio.bootstrap import PORTFOLIO
from pmo_portfolio.candidates.commands import register_candidate
from pmo_servicekit.app import create_app

ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


def _proposal(proposal_id: str, portfolio_id: str) -> ProposalSubmitted:
    return ProposalSubmitted(
        proposal_id=proposal_id,
        portfolio_id=portfolio_id,
        title=f"Proposal {proposal_id}",
        summary="a project the benchmark reports on",
        sponsor="carol",
        requester="alice",
        submission=1,
        submitted_at=datetime.now(UTC),
        objective_contributions=(ObjectiveContribution(objective_id="o-1", contribution=4),),
        business_case=BusinessCase(
            costs=(PeriodAmount(fiscal_period="FY2026", amount=Decimal("100000")),),
            benefits=(Benefit(description="faster", kind="financial", value_amount=Decimal("200000")),),
        ),
        timeline=Timeline(start=date(2026, 1, 5), end=date(2027, 12, 31)),
        resource_estimate=(
            RoleEstimate(role="developer", fte=Decimal("0.5"), start=date(2027, 1, 4), end=date(2027, 12, 31)),
        ),
    )


class Driver:
    """Requests to the ASGI app in-process, as `benchmarks/edge.py` sends them."""

    def __init__(self, app: Any, private_key: bytes) -> None:
        self.app = app
        self.key = private_key
        self.statuses: dict[int, int] = {}

    def token(self, subject: str, *roles: str) -> str:
        return mint_token(self.key, subject=subject, roles=list(roles))

    async def call(
        self, method: str, path: str, token: str, body: dict[str, Any] | None = None, *, parse: bool = True
    ) -> tuple[int, Any]:
        """The answer's status and its JSON (`parse=False`: its bytes, not parsed; the measured reports' client
        leaves the answer as it is, since the process's CPU and instructions are the service's: parsing a
        report's answer with `json.loads` cost this driver about 0.21 M instructions per report, 4.3% of main's
        count in session 15)."""
        raw = json.dumps(body).encode() if body is not None else b""
        headers = [
            (b"host", b"127.0.0.1:8000"),
            (b"content-type", b"application/json"),
            (b"authorization", f"Bearer {token}".encode()),
            (b"content-length", str(len(raw)).encode()),
        ]
        scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "server": ("127.0.0.1", 8000),
            "client": ("127.0.0.1", 5555),
            "scheme": "http",
            "method": method,
            "root_path": "",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "headers": headers,
            "state": {},
        }
        sent = False
        status = 0
        chunks: list[bytes] = []

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": raw, "more_body": False}
            await asyncio.sleep(3600)  # the client never disconnects
            raise AssertionError("unreachable")

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                self.statuses[status] = self.statuses.get(status, 0) + 1
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, send)
        text = b"".join(chunks)
        return status, (json.loads(text) if text and parse else text or None)


async def _made(driver: Driver, method: str, path: str, token: str, body: dict[str, Any]) -> Any:
    status, answer = await driver.call(method, path, token, body)
    if status >= 400:
        raise RuntimeError(f"{method} {path}: {status} {answer}")
    return answer


async def prepare(driver: Driver, projects: int) -> list[str]:
    analyst, board = driver.token("paula", "pmo_analyst"), driver.token("bob", "board_member")
    budget = [{"fiscal_period": f"FY{year}", "amount": "900000000.00"} for year in (2026, 2027)]
    body = {"name": "Bench", "currency": "EUR", "owner": "paula", "board_members": ["bob"], "budget": budget}
    portfolio = (await _made(driver, "POST", "/portfolios", analyst, body))["id"]
    ids = [f"bench-{n:04d}" for n in range(projects)]
    runtime = driver.app.state.runtime
    for proposal_id in ids:
        async with runtime.commands.unit_of_work(Metadata(actor="alice")) as uow:
            await register_candidate(uow, _proposal(proposal_id, portfolio))
    for proposal_id in ids:
        decision = {
            "candidate_id": proposal_id,
            "outcome": "approved",
            "rationale": "benchmark",
            "override_reason": "no scoring round",
            "approved_budget": [{"fiscal_period": "FY2026", "amount": "100000.00"}],
        }
        await _made(driver, "POST", f"/portfolios/{portfolio}/decisions", board, decision)
    return ids


async def run(args: argparse.Namespace) -> None:
    data = Path(tempfile.mkdtemp(prefix="pmo-statusreport-"))
    private, _ = ensure_dev_keys(data)
    url = f"sqlite+aiosqlite:///{data}/portfolio.db" if args.sqlite else await create_database(ADMIN, "pmo_sr")
    try:
        await asyncio.to_thread(upgrade, url, PORTFOLIO.migrations, PORTFOLIO.metadata)
        if args.state_compression and not args.sqlite:  # e.g. pglz: the projects' states as before portfolio_0012
            admin = await asyncpg.connect(url.replace("+asyncpg", ""))
            method = args.state_compression
            await admin.execute(f"ALTER TABLE portfolio_projects ALTER COLUMN state SET COMPRESSION {method}")
            await admin.close()
        settings = dev_settings(PORTFOLIO, data, url)
        logging.getLogger().setLevel(logging.WARNING)  # as `PMO_LOG_LEVEL=warning` in benchmarks/commands.py
        # No lifespan: neither the relay nor the subscription runs; only the request's own work is measured.
        app = create_app(PORTFOLIO, settings, KafkaSettings(bootstrap_servers="127.0.0.1:1"))
        trace.set_tracer_provider(app.state.telemetry.tracer_provider)  # as `serve` does
        driver = Driver(app, private.read_bytes())
        sent: Counter[str] = Counter()  # every statement PostgreSQL is sent, by its first word (asyncpg's logger)
        connected = 0

        def count_sent(record: object) -> None:
            query = getattr(record, "query", "")
            sent[query.split(None, 1)[0].upper() if query else "?"] += 1

        if not args.sqlite:

            @event.listens_for(app.state.runtime.db.engine.sync_engine, "connect")
            def on_connect(dbapi_connection: object, _record: object) -> None:
                nonlocal connected
                connected += 1
                dbapi_connection.driver_connection.add_query_logger(count_sent)  # type: ignore[attr-defined]

        plans = PreparedPlans(app.state.runtime.db.engine) if args.plans and not args.sqlite else None
        projects = await prepare(driver, args.projects)
        statements = 0

        def count(*_a: object) -> None:
            nonlocal statements
            statements += 1

        event.listen(app.state.runtime.db.engine.sync_engine, "before_cursor_execute", count)
        lender = getattr(app.state.runtime.db, "lender", None)
        token = driver.token("paula", "pmo_analyst")
        report = {"period_end": date.today().isoformat(), "percent_complete": "40", "actual_cost": "30000.00",
                  "summary": "on track"}  # fmt: skip
        turn = 0

        async def client(requests: int) -> None:
            nonlocal turn
            for _ in range(requests):
                project = projects[turn % len(projects)]
                turn += 1
                await driver.call("POST", f"/projects/{project}/status-reports", token, report, parse=False)

        await asyncio.gather(*(client(5) for _ in range(args.concurrency)))  # warm-up
        driver.statuses.clear()
        statements = 0
        sent.clear()
        profiler = cProfile.Profile(time.process_time) if args.profile else None  # CPU, not wall time
        mark = callgrind_toggle() if args.callgrind else (lambda: None)
        server = BackendCpu(url.rsplit("/", 1)[1]) if args.dbcpu and not args.sqlite else None
        connected = 0
        if server is not None:
            server.start()
        cpu, wall, done = await measured_clients(client, args.requests, args.concurrency, profiler, mark)
        if server is not None:
            await asyncio.sleep(0.05)
            spent, seen = server.stop()
            print(
                f"DB backends: {spent / done:.3f} ms CPU per report ({seen} backends, those that exited too); "
                f"pool: {connected} connections made during the measured reports"
            )
        print(
            f"status reports ({'SQLite' if args.sqlite else 'PostgreSQL'}, {args.projects} projects): {done} "
            f"{driver.statuses}; CPU {cpu * 1000:.3f} ms/report, wall {wall * 1000:.3f} ms/report; "
            f"ORM statements/report {statements / done:.2f}{'' if lender is None else ' (asyncpg not counted)'}; "
            + (f"sent to PostgreSQL/report {_per(sent, done)}; " if sent else "")
            + f"load average {load_average()}"
        )
        print_profile(profiler, args.sort, args.top, args.dump)
        if plans is not None:
            print(await plans.report())
        await app.state.runtime.db.dispose()
    finally:
        if not args.sqlite:
            await drop_database(ADMIN, url)


def _per(sent: Counter[str], done: int) -> str:
    """Statements per report by their first word, and in all."""
    parts = ", ".join(f"{word} {n / done:.2f}" for word, n in sorted(sent.items()))
    return f"{sum(sent.values()) / done:.2f} ({parts})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--projects", type=int, default=40)
    parser.add_argument("--requests", type=int, default=800)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--sqlite", action="store_true", help="on a SQLite file instead of PostgreSQL")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of the measured requests")
    parser.add_argument("--callgrind", action="store_true", help="toggle callgrind's instrumentation around them")
    parser.add_argument("--sort", default="cumulative", help="cProfile sort key (cumulative, tottime)")
    parser.add_argument("--top", type=int, default=60, help="how many cProfile lines to print")
    parser.add_argument("--dump", help="also write the cProfile statistics to this file (pstats)")
    parser.add_argument("--plans", action="store_true", help="print each prepared statement's generic/custom plans")
    parser.add_argument(
        "--state-compression", choices=["lz4", "pglz"], help="the projects' state column compressed so (PostgreSQL)"
    )
    parser.add_argument("--no-dbcpu", dest="dbcpu", action="store_false", help="leave out the backends' CPU")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
