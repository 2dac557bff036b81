"""The command path below HTTP, in-process: intake's draft through `CommandRuntime.unit_of_work` on PostgreSQL.

For each draft: the process's CPU time and the statements sent to PostgreSQL (round trips, counted with
asyncpg's query logger on every pooled connection). No HTTP, no relay, no broker: what the store, the
unit of work, the inline view, signing and the driver cost per command. `--relay` also runs the outbox
relay in the process (woken after each commit, as in the service) against an embedded Tansu, and waits
until it has published every event: its CPU is then in the figure; `--relay-thread` runs it as `serve` does
on PostgreSQL with `PMO_RELAY_THREAD=true`, on a thread and loop of its own (`RelayThread`, with
`--busy-interval`), and prints its rounds.
`--profile` prints a cProfile of the loop (top 40 by `--sort`). `--wal` prints what PostgreSQL did per draft: the
CPU of the database's backends, rows inserted, updated (HOT or not) and deleted per table, and the WAL written for
each table and index (record bytes and full-page images, read back with pg_walinspect from the range the run wrote;
commit records carry no relation and are counted apart).

    .venv/bin/python -P benchmarks/cmdpath.py --commands 2000 [--concurrency 10] [--profile]

Instruction counts: `valgrind --tool=callgrind --instr-atstart=no .venv/bin/python benchmarks/cmdpath.py
--commands 400 --relay-thread --callgrind`: instrumentation on and off around the measured drafts and the relay's
publication of them (every thread of the process); divide the `Collected` instructions by the drafts.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import re
import resource
import time
import uuid
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import asyncpg
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


class PostgresWork:
    """What PostgreSQL did for one database between `start` and `stop`: its backends' CPU, rows written per table
    (pg_stat_user_tables, read after the statistics are flushed) and WAL per relation (pg_walinspect)."""

    _ROWS = "SELECT relname, n_tup_ins, n_tup_upd, n_tup_hot_upd, n_tup_del FROM pg_stat_user_tables"
    _RELATIONS = (
        "SELECT c.relfilenode, coalesce(t.relname || ' (toast)', c.relname) FROM pg_class c "
        "LEFT JOIN pg_class t ON t.reltoastrelid = c.oid OR t.reltoastrelid = "
        "(SELECT indrelid FROM pg_index WHERE indexrelid = c.oid) AND c.relkind = 'i' AND c.relname LIKE 'pg_toast%' "
        "WHERE c.relfilenode <> 0"
    )

    def __init__(self, url: str) -> None:
        self.url = url.replace("+asyncpg", "")
        self.connection: Any = None
        self.lsn = ""
        self.rows: dict[str, tuple[int, ...]] = {}
        self.cpu: dict[int, float] = {}

    async def start(self) -> None:
        self.connection = connection = await asyncpg.connect(self.url)
        await connection.execute("CREATE EXTENSION IF NOT EXISTS pg_walinspect")
        # The run's WAL kept until it is read (other databases' work may fill segments meanwhile): a temporary
        # slot, dropped with this connection whatever happens.
        await connection.execute(f"SELECT pg_create_physical_replication_slot('pmo_cmdpath_{os.getpid()}', true, true)")
        await connection.execute("SELECT pg_stat_clear_snapshot()")
        self.rows = {r[0]: tuple(r[1:]) for r in await connection.fetch(self._ROWS)}
        self.cpu = await self._backend_cpu()
        self.lsn = await connection.fetchval("SELECT pg_current_wal_lsn()::text")

    async def _backend_cpu(self) -> dict[int, float]:
        pids = await self.connection.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return _process_cpu([pid for (pid,) in pids])

    async def stop(self, n: int) -> list[str]:
        connection = self.connection
        end = await connection.fetchval("SELECT pg_current_wal_lsn()::text")
        cpu = await self._backend_cpu()
        used = sum(spent - self.cpu.get(pid, 0.0) for pid, spent in cpu.items())
        lines = [f"PostgreSQL backends: {used / n * 1e6:.0f} µs of CPU per draft ({len(cpu)} backends)"]
        await asyncio.sleep(1.5)  # a backend flushes its table statistics at most once a second
        await connection.execute("SELECT pg_stat_clear_snapshot()")
        rows = {r[0]: tuple(r[1:]) for r in await connection.fetch(self._ROWS)}
        for table, after in sorted(rows.items()):
            before = self.rows.get(table, (0, 0, 0, 0))
            ins, upd, hot, dele = (a - b for a, b in zip(after, before, strict=True))
            if ins or upd or dele:
                lines.append(
                    f"  {table}: {ins / n:.2f} inserted, {upd / n:.2f} updated ({hot / n:.2f} HOT), "
                    f"{dele / n:.2f} deleted per draft"
                )
        database = await connection.fetchval("SELECT oid FROM pg_database WHERE datname = current_database()")
        names = {node: name for node, name in await connection.fetch(self._RELATIONS)}
        wal: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
        kinds: dict[str, Counter[str]] = defaultdict(Counter)
        commits = [0, 0]
        records = await connection.fetch(
            "SELECT resource_manager, record_type, record_length, fpi_length, block_ref "
            "FROM pg_get_wal_records_info($1::text::pg_lsn, $2::text::pg_lsn)",
            self.lsn,
            end,
        )
        for manager, kind, length, fpi, block_ref in records:
            found = _BLOCK.search(block_ref or "")
            if found is None:
                if manager == "Transaction":
                    commits[0] += 1
                    commits[1] += length
                continue
            if int(found[1]) != database:
                continue
            name = names.get(int(found[2]), f"relfilenode {found[2]}")
            wal[name][0] += 1
            wal[name][1] += length
            wal[name][2] += fpi
            kinds[name][kind] += 1
        total = sum(w[1] for w in wal.values())
        lines.append(
            f"WAL of this database's relations: {total / n:.0f} bytes per draft "
            f"({sum(w[2] for w in wal.values()) / n:.0f} of them full-page images), "
            f"{sum(w[0] for w in wal.values()) / n:.2f} records"
        )
        for name, (count, length, fpi) in sorted(wal.items(), key=lambda item: -item[1][1]):
            what = ", ".join(f"{kind} {times / n:.2f}" for kind, times in kinds[name].most_common(4))
            lines.append(
                f"  {name}: {length / n:.0f} bytes ({fpi / n:.0f} FPI), {count / n:.2f} records per draft: {what}"
            )
        lines.append(
            f"transaction records in the range (every database's): {commits[0]}, {commits[1]} bytes;"
            f" WAL range {self.lsn}..{end}"
        )
        await connection.close()
        return lines


def _process_cpu(pids: list[int]) -> dict[int, float]:
    """CPU time (user + system, seconds) of each given process (gone ones are left out)."""
    spent = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        spent[pid] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return spent


_BLOCK = re.compile(r"rel \d+/(\d+)/(\d+)")


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

        plans = _prepared_plans(db) if args.plans else None
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
            rounds: list[int] = [0, 0]  # outbox reads, hops to the relay thread's loop
            inner = relay.relay if isinstance(relay, RelayThread) else relay
            publish_rows = inner._publish_rows

            async def counted_rounds(*a: object) -> int:
                rounds[0] += 1
                return await publish_rows(*a)  # type: ignore[arg-type]

            inner._publish_rows = counted_rounds  # type: ignore[method-assign]
            if isinstance(relay, RelayThread):  # the hops from the commits' loop to the relay's
                woken = relay._woken

                def counted_hop() -> None:
                    rounds[1] += 1
                    woken()

                relay._woken = counted_hop  # type: ignore[method-assign]
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
        work = PostgresWork(url) if args.wal else None
        if work is not None:
            await work.start()
        rounds_before = list(rounds) if relay is not None else [0, 0]
        profile = cProfile.Profile() if args.profile else None
        mark: Any = lambda: None  # noqa: E731
        if args.callgrind:
            from inprocess import callgrind_toggle  # benchmarks/ (run without -P)

            mark = callgrind_toggle()
        mark()
        started, cpu0 = time.perf_counter(), cpu()
        if profile:
            profile.enable()
        await loop(args.commands)
        await published()
        if profile:
            profile.disable()
        mark()
        wall, used = time.perf_counter() - started, cpu() - cpu0
        n = args.commands // args.concurrency * args.concurrency
        measured = await work.stop(n) if work is not None else []
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
            print(
                f"relay: {(rounds[0] - rounds_before[0]) / n:.3f} outbox reads per draft, "
                f"{(rounds[1] - rounds_before[1]) / n:.3f} hops to its thread's loop per draft"
            )
        if measured:
            print("\n".join(measured))
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
        if plans is not None:
            print(await plans.report())
        await db.dispose()
    finally:
        await drop_database(ADMIN, url)


def _prepared_plans(db: Database) -> Any:
    """`plans.PreparedPlans` on the database's engine (imported from beside this file: run with `-P`)."""
    import sys

    sys.path.insert(0, str(Path(__file__).parent))
    from plans import PreparedPlans

    return PreparedPlans(db.engine)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--commands", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--relay", action="store_true", help="publish every event through the outbox relay too")
    parser.add_argument(
        "--relay-thread",
        action="store_true",
        help="the relay on its own thread, as serve does with PMO_RELAY_THREAD=true",
    )
    parser.add_argument("--busy-interval", type=float, default=0.005, help="--relay-thread: RelayThread's")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--plans", action="store_true", help="print each prepared statement's generic/custom plans")
    parser.add_argument(
        "--callgrind", action="store_true", help="toggle callgrind's instrumentation around the measured drafts"
    )
    parser.add_argument("--wal", action="store_true", help="PostgreSQL's CPU, rows and WAL per draft")
    parser.add_argument("--dump", help="with --profile: also write the raw profile to this file")
    parser.add_argument("--sort", default="tottime", help="cProfile order: tottime or cumulative")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
