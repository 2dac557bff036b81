"""The command path of an edit below HTTP, in-process: intake's `edit_proposal` through
`CommandRuntime.unit_of_work` on PostgreSQL, after as many drafts (untimed). Prints the process's CPU per
edit and the statements asyncpg's query logger saw per edit (statements SQLAlchemy prepares are not logged).

    .venv/bin/python -P benchmarks/editpath.py [--edits 1500] [--concurrency 10]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import time
import uuid
from collections import Counter
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
        ids: list[str] = []
        for _ in range(args.edits + 200):
            ids.append(str(uuid.uuid4()))
            command = DraftProposal(proposal_id=ids[-1], requester="bench", title="Bench", portfolio_id="p")
            async with runtime.unit_of_work(Metadata(actor="bench")) as uow:
                await commands.draft_proposal(uow, command)
        actor = Actor("bench")

        async def edit(proposal_id: str) -> None:
            async with runtime.unit_of_work(Metadata(actor="bench")) as uow:
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
        n = args.edits
        print(
            f"{n} edits, concurrency {args.concurrency}: {n / wall:.0f}/s, {used / n * 1e6:.0f} µs of process CPU "
            f"per edit; load average {os.getloadavg()[0]:.1f}"
        )
        print("statements per edit: " + ", ".join(f"{k} {v / n:.2f}" for k, v in statements.most_common()))
        await db.dispose()
    finally:
        await drop_database(ADMIN, url)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--edits", type=int, default=1500)
    parser.add_argument("--concurrency", type=int, default=10)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
