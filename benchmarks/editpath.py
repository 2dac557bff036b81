"""The command path of an edit below HTTP, in-process: intake's `edit_proposal` through
`CommandRuntime.unit_of_work` on PostgreSQL, after as many drafts (untimed). Prints the process's CPU per
edit and the statements asyncpg's query logger saw per edit (statements SQLAlchemy prepares are not logged).
`--submit`: submissions instead (complete drafts of a portfolio and an objective intake knows, each
submitted once; no lesson is known, so none is offered).

    .venv/bin/python -P benchmarks/editpath.py [--edits 1500] [--concurrency 10] [--submit]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import event

from pmo_devstack.testing import create_database, drop_database
from pmo_events.runtime import CommandRuntime, EventStore, Metadata
from pmo_events.runtime.database import Database
from pmo_events.runtime.migrate import upgrade
from pmo_events.signing import EventSigner
from pmo_intake.application import commands
from pmo_intake.bootstrap import INTAKE
from pmo_intake.domain.lifecycle import Actor, DraftProposal
from pmo_intake.domain.proposal import CONTENT_FIELDS

ADMIN = os.environ.get("PMO_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def run(args: argparse.Namespace) -> None:
    url = await create_database(ADMIN, prefix="pmo_editpath")
    try:
        await asyncio.to_thread(upgrade, url, Path(INTAKE.migrations), INTAKE.metadata)
        db = Database(url)
        statements: Counter[str] = Counter()

        def count(record: Any) -> None:
            statements[record.query.split(None, 1)[0].upper().rstrip(";")] += 1

        @event.listens_for(db.engine.sync_engine, "connect")
        def on_connect(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.driver_connection.add_query_logger(count)

        signer = EventSigner(Ed25519PrivateKey.generate())
        store = EventStore(source="/pmo/intake", topic=INTAKE.topic, signer=signer)
        runtime = CommandRuntime(db, store, projectors=INTAKE.projectors, policies=INTAKE.policies)
        content = await _known_portfolio(db) if args.submit else {}
        ids: list[str] = []
        for _ in range(args.edits + 200):
            ids.append(str(uuid.uuid4()))
            command = DraftProposal(proposal_id=ids[-1], requester="bench", title="Bench", portfolio_id="p", **content)
            async with runtime.unit_of_work(Metadata(actor="bench")) as uow:
                await commands.draft_proposal(uow, command)
        actor = Actor("bench")

        async def edit(proposal_id: str) -> None:
            async with runtime.unit_of_work(Metadata(actor="bench")) as uow:
                if args.submit:
                    now = datetime.now(UTC)
                    await commands.submit_proposal(uow, proposal_id, actor=actor, now=now, expected_version=1)
                    return
                changes = {"title": f"Bench {proposal_id[:8]}"}
                await commands.edit_proposal(uow, proposal_id, changes, actor=actor, expected_version=None)

        async def loop(chunk: list[str]) -> None:
            async def worker(part: list[str]) -> None:
                for proposal_id in part:
                    await edit(proposal_id)

            await asyncio.gather(*(worker(chunk[i :: args.concurrency]) for i in range(args.concurrency)))

        await loop(ids[:200])  # warm-up: connections, prepared statements
        await asyncio.sleep(0.1)  # asyncpg hands its query loggers each statement through call_soon
        statements.clear()
        started, cpu0 = time.perf_counter(), cpu()
        await loop(ids[200:])
        wall, used = time.perf_counter() - started, cpu() - cpu0
        await asyncio.sleep(0.1)
        n, what = args.edits, "submission" if args.submit else "edit"
        print(
            f"{n} {what}s, concurrency {args.concurrency}: {n / wall:.0f}/s, {used / n * 1e6:.0f} µs of process CPU "
            f"per {what}; load average {os.getloadavg()[0]:.1f}"
        )
        print(f"statements per {what}: " + ", ".join(f"{k} {v / n:.2f}" for k, v in statements.most_common()))
        await db.dispose()
    finally:
        await drop_database(ADMIN, url)


async def _known_portfolio(db: Database) -> dict[str, Any]:
    """Portfolio "p" and an objective of it, as intake's subscription would know them; a complete draft's content."""
    from pmo_intake.adapters.db.tables import known_objectives, known_portfolios
    from pmo_intake.adapters.http.schemas import ProposalDraft

    async with db.transaction() as session:
        await session.execute(
            known_portfolios.insert().values(portfolio_id="p", name="P", fiscal_periods='["FY2027"]', currency="EUR")
        )
        await session.execute(
            known_objectives.insert().values(
                objective_id="o", title="Grow", retired=False, updated_at=datetime.now(UTC), portfolio_ids='["p"]'
            )
        )
    body = ProposalDraft.model_validate(
        {
            "title": "Bench", "portfolio_id": "p", "summary": "A bench proposal", "sponsor": "carol",
            "objective_contributions": [{"objective_id": "o", "contribution": 4}],
            "business_case": {
                "currency": "EUR", "costs": [{"fiscal_period": "FY2027", "amount": "120000.00"}],
                "benefits": [{
                    "description": "More sales", "kind": "financial", "measure": "revenue", "target_value": "+5%",
                    "unit": "percent", "realise_by": "2027-12-31", "value_amount": "300000.00",
                }],
            },
            "timeline": {"start": "2027-01-01", "end": "2027-12-31"},
            "resource_estimate": [{"role": "developer", "fte": "0.5", "start": "2027-01-01", "end": "2027-06-30"}],
            "risk_level": "medium",
        }
    )  # fmt: skip
    return body.values(set(CONTENT_FIELDS) - {"title", "portfolio_id"})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--edits", type=int, default=1500)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--submit", action="store_true", help="submissions instead of edits")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
