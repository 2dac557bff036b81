"""The command path below HTTP, in-process: intake's draft through `CommandRuntime.unit_of_work` on PostgreSQL.

For each draft: the process's CPU time and the statements sent to PostgreSQL (round trips, counted with
asyncpg's query logger on every pooled connection). No HTTP, no relay, no broker: what the store, the
unit of work, the inline view, signing and the driver cost per command. `--relay` also runs the outbox
relay in the process (woken after each commit, as in the service) against an embedded Tansu, and waits
until it has published every event: its CPU is then in the figure; `--relay-thread` runs it as `serve` does
on PostgreSQL, on a thread and loop of its own (`RelayThread`, with `--busy-interval`), and prints its rounds.
`--profile` prints a cProfile of the loop (top 40 by `--sort`).

    .venv/bin/python -P benchmarks/cmdpath.py --commands 2000 [--concurrency 10] [--profile]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import resource
import time
import uuid
from collections import Counter
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import event

from pmo_devstack.testing import create_database, drop_database
from pmo_events.runtime import CommandRuntime, EventStore, Metadata
from pmo_events.runtime.database import Database
from pmo_events.runtime.migrate import upgrade
from pmo_events.signing import EventSigner
from pmo_intake.application import commands
from pmo_intake.bootstrap import INTAKE
from pmo_intake.domain.lifecycle import DraftProposal

ADMIN = os.environ.get("PMO_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def run(args: argparse.Namespace) -> None:
    url = await create_database(ADMIN, prefix="pmo_cmdpath")
    try:
        await asyncio.to_thread(upgrade, url, Path(INTAKE.migrations), INTAKE.metadata)
        db = Database(url)
        statements: Counter[str] = Counter()

        def count(record: object) -> None:
            query = getattr(record, "query", "")
            statements[query.split(None, 1)[0].upper() if query else "?"] += 1

        @event.listens_for(db.engine.sync_engine, "connect")
        def on_connect(dbapi_connection: object, _record: object) -> None:
            dbapi_connection.driver_connection.add_query_logger(count)  # type: ignore[attr-defined]

        signer = EventSigner(Ed25519PrivateKey.generate())
        store = EventStore(source="/pmo/intake", topic=INTAKE.topic, signer=signer)
        relay, broker, relaying = None, None, None
        if args.relay or args.relay_thread:
            from pmo_devstack.broker import start_broker
            from pmo_events.runtime import KafkaSettings, OutboxRelay
            from pmo_events.runtime.relay import RelayThread

            broker = start_broker()
            kafka = KafkaSettings(bootstrap_servers=broker.bootstrap_servers)
            relay = (
                RelayThread(
                    db,
                    Database(url, pool_size=2),
                    kafka,
                    service="intake",
                    topic=INTAKE.topic,
                    signer=signer,
                    busy_interval=args.busy_interval,
                )
                if args.relay_thread
                else OutboxRelay(db, kafka, service="intake", topic=INTAKE.topic, signer=signer)
            )
            rounds: list[int] = [0]
            inner = relay.relay if isinstance(relay, RelayThread) else relay
            publish_rows = inner._publish_rows

            async def counted_rounds(*a: object) -> int:
                rounds[0] += 1
                return await publish_rows(*a)  # type: ignore[arg-type]

            inner._publish_rows = counted_rounds  # type: ignore[method-assign]
            relaying = asyncio.create_task(relay.run())
        runtime = CommandRuntime(
            db, store, projectors=INTAKE.projectors, policies=INTAKE.policies, on_commit=relay.wake if relay else None
        )

        async def one() -> None:
            command = DraftProposal(proposal_id=str(uuid.uuid4()), requester="bench", title="Bench", portfolio_id="p")
            async with runtime.unit_of_work(Metadata(actor="bench")) as uow:
                await commands.draft_proposal(uow, command)

        async def loop(n: int) -> None:
            per_worker = n // args.concurrency

            async def worker() -> None:
                for _ in range(per_worker):
                    await one()

            await asyncio.gather(*(worker() for _ in range(args.concurrency)))

        async def published() -> None:
            if relay is None:
                return
            for _ in range(60_000):  # a minute at most
                if not await relay.pending():
                    return
                await asyncio.sleep(0.001)
            raise RuntimeError("the relay did not publish every event")

        await loop(200)  # warm-up: connections, prepared statements
        await published()
        statements.clear()
        rounds_before = rounds[0] if relay is not None else 0
        profile = cProfile.Profile() if args.profile else None
        started, cpu0 = time.perf_counter(), cpu()
        if profile:
            profile.enable()
        await loop(args.commands)
        await published()
        if profile:
            profile.disable()
        wall, used = time.perf_counter() - started, cpu() - cpu0
        n = args.commands // args.concurrency * args.concurrency
        print(
            f"{n} drafts, concurrency {args.concurrency}: {n / wall:.0f}/s, "
            f"{used / n * 1e6:.0f} µs of process CPU per draft; load average {os.getloadavg()[0]:.1f}"
        )
        print(
            "statements per draft: "
            + ", ".join(f"{k} {v / n:.2f}" for k, v in statements.most_common())
            + f"; total {sum(statements.values()) / n:.2f}"
        )
        async with db.engine.connect() as conn:
            checked = (
                await conn.exec_driver_sql(
                    "SELECT (SELECT count(*) FROM pmo_events), (SELECT count(*) FROM pmo_outbox), "
                    "(SELECT count(*) FROM intake_proposals p JOIN pmo_events e ON e.stream_id = p.proposal_id "
                    "AND e.version = 1 AND p.listed_at = e.position)"
                )
            ).one()
        if relay is not None:
            print(f"relay: {(rounds[0] - rounds_before) / n:.3f} outbox reads per draft")
        print(f"stored: {checked[0]} events, {checked[1]} outbox records, {checked[2]} view rows listed at their draft")
        if profile:
            if args.dump:
                profile.dump_stats(args.dump)
            pstats.Stats(profile).sort_stats(args.sort).print_stats(40)
        if relay is not None and relaying is not None and broker is not None:
            await relay.stop()
            relaying.cancel()
            await asyncio.gather(relaying, return_exceptions=True)
            if isinstance(relay, RelayThread):
                await relay.close()
            broker.stop()
        await db.dispose()
    finally:
        await drop_database(ADMIN, url)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--commands", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--relay", action="store_true", help="publish every event through the outbox relay too")
    parser.add_argument("--relay-thread", action="store_true", help="the relay on its own thread, as under serve")
    parser.add_argument("--busy-interval", type=float, default=0.005, help="--relay-thread: RelayThread's")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--dump", help="with --profile: also write the raw profile to this file")
    parser.add_argument("--sort", default="tottime", help="cProfile order: tottime or cumulative")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
