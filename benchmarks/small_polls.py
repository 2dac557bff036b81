"""Reporting's subscription applying small polls in process on PostgreSQL: the per-poll cost of propagation.

At 100 commands/s a live consumer applies polls of one or two records, so what a poll costs whatever its size
(the transaction, the offsets' and streams' locks and bookkeeping, the read models' rows, the log's rows, the
documents, the commit) is most of a command's way to reporting. This applies `--polls` polls of `--records`
`ProposalDrafted` records each (new proposals, as `benchmarks/propagation.py` sends) through the service's own
`Subscription._apply_batch` (the signatures checked beforehand, untimed, as the checker thread does), on a
fresh database, and prints per poll: the event loop thread's CPU, the wall time, the database server's CPU and
the PostgreSQL round trips (counted by `benchmarks/probe`). No broker: the records are built as the relay
publishes them. Alternate two checkouts by running this file with each one's interpreter.

`--gap-ms 10` pauses before each poll, as polls arrive at 100 commands/s: the backend has gone to sleep when the
poll's BEGIN reaches it (the pause is in the wall time printed).

    .venv/bin/python benchmarks/small_polls.py [--polls 2000] [--records 1] [--repeat 3] [--label A] [--gap-ms 0]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import importlib.util
import os
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from aiokafka import TopicPartition
from aiokafka.structs import ConsumerRecord
from live import ADMIN
from load import ServerCpu
from plans import PreparedPlans

from pmo_devstack.batches import service_runtime, subscription_of
from pmo_devstack.keys import PUBLISHERS, ensure_event_keys
from pmo_devstack.testing import as_published, create_database, drop_database
from pmo_events.contracts import TOPICS
from pmo_events.contracts.intake import ProposalDrafted
from pmo_events.envelope import RecordedEvent
from pmo_reporting.bootstrap import REPORTING

TRACE = tempfile.mkdtemp(prefix="pmo-small-polls-")
PLANS = os.environ.get("PMO_BENCH_PLANS") == "1"  # print each prepared statement's generic/custom plans


def install_probe() -> None:
    """`benchmarks/probe` (it counts each poll's PostgreSQL round trips), writing to `TRACE`."""
    os.environ["PMO_PROPAGATION_TRACE"] = TRACE
    spec = importlib.util.spec_from_file_location(
        "pmo_probe", Path(__file__).resolve().parent / "probe" / "sitecustomize.py"
    )
    assert spec is not None and spec.loader is not None
    spec.loader.exec_module(importlib.util.module_from_spec(spec))


def records(count: int, topic: str, data_dir: Path) -> list[ConsumerRecord]:
    found = []
    for offset in range(count):
        proposal = f"pr-{uuid.uuid4().hex[:12]}"
        event = RecordedEvent(
            event_id=str(uuid.uuid4()),
            type=ProposalDrafted.type_name(),
            source="/pmo/intake",
            stream_id=proposal,
            sequence=1,
            time=datetime.now(UTC),
            data=ProposalDrafted(proposal_id=proposal, portfolio_id="p", title="Lag", requester="bench").model_dump(
                mode="json"
            ),
            actor="bench",
            correlation_id=str(uuid.uuid4()),
        )
        key, value, headers = as_published(event, data_dir)
        found.append(ConsumerRecord(topic, offset % 3, offset, 0, 0, key, value, None, len(key), len(value), headers))
    return found


async def grow(runtime, rows: int) -> None:
    """The warm-up's documents and consumed streams copied until each table holds about `rows` rows (the same
    projections, kinds and consumer, so as skewed as the live tables), then analysed: on a few pages every plan
    is as cheap, and PostgreSQL keeps a generic plan it would not keep at a realistic size."""
    from sqlalchemy import text

    async with runtime.db.engine.begin() as conn:
        for table, key in (("reporting_documents", "key"), ("pmo_consumed_streams", "stream_id")):
            have = (await conn.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one()
            copies = max(rows // max(have, 1), 1)
            columns = [c[0] for c in await conn.execute(text(
                "SELECT column_name FROM information_schema.columns WHERE table_name = :t ORDER BY ordinal_position"
            ), {"t": table})]  # fmt: skip
            chosen = ", ".join(f"{c} || '-' || g" if c == key else c for c in columns)
            await conn.execute(text(
                f"INSERT INTO {table} ({', '.join(columns)}) "
                f"SELECT {chosen} FROM {table}, generate_series(1, {copies}) g"
            ))  # fmt: skip
    async with runtime.db.engine.connect() as conn:
        await conn.execute(text("ANALYZE reporting_documents, pmo_consumed_streams"))
        await conn.commit()


async def one_rep(polls: int, per_poll: int, data_dir: Path, gap: float = 0.0, rows: int = 0) -> dict[str, float]:
    url = await create_database(ADMIN, "pmo_bench")
    topic = TOPICS["intake"]
    try:
        async with service_runtime(REPORTING, url, "127.0.0.1:1", data_dir) as runtime:
            plans = PreparedPlans(runtime.db.engine) if PLANS else None
            if plans is not None:
                await runtime.db.engine.dispose()  # the connections made from here on are the ones asked
            subscription = subscription_of(runtime, topic)
            subscription.durable_commits = False  # as reporting's runtime makes it
            subscription._epoch = "bench"
            made = records(polls * per_poll, topic, data_dir)
            batches = []
            for start in range(0, len(made), per_poll):
                batch: dict[TopicPartition, list[ConsumerRecord]] = {}
                for record in made[start : start + per_poll]:
                    batch.setdefault(TopicPartition(topic, record.partition), []).append(record)
                batches.append((batch, subscription._check(batch)))
            for batch, checked in batches[:20]:  # warm-up: offset rows made, statements prepared
                await subscription._apply_batch(batch, checked)
            if rows:
                await grow(runtime, rows)
                await runtime.db.engine.dispose()  # fresh connections: statements prepared on the grown tables
                for batch, checked in batches[20:40]:
                    await subscription._apply_batch(batch, checked)
                batches = batches[:20] + batches[40:]
            log = Path(TRACE) / f"{os.getpid()}.log"
            mark = log.stat().st_size if log.exists() else 0
            server = ServerCpu(url.rsplit("/", 1)[1])
            server.start()
            cpu, started = time.thread_time(), time.perf_counter()
            for batch, checked in batches[20:]:
                if gap:  # as polls arrive live: the database's backend sleeps between them
                    await asyncio.sleep(gap)
                await subscription._apply_batch(batch, checked)
            cpu, wall = time.thread_time() - cpu, time.perf_counter() - started
            server_ms = server.stop()
            with log.open() as stamps:
                stamps.seek(mark)
                calls = [int(row.split()[4]) for row in stamps if row.startswith("poll ")]
            applied = len(batches) - 20
            if plans is not None:
                print(await plans.report())
            return {
                "cpu": cpu * 1000 / applied,
                "wall": wall * 1000 / applied,
                "db": server_ms / applied,
                "calls": statistics.mean(calls),
                "applied": subscription.status.applied,
            }
    finally:
        await drop_database(ADMIN, url)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--polls", type=int, default=2000)
    parser.add_argument("--records", type=int, default=1, help="records per poll")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--label", default="")
    parser.add_argument("--rows", type=int, default=0, help="documents and consumed streams grown to about this many")
    parser.add_argument("--gap-ms", type=float, default=0.0, help="a pause before each poll (its wall time is counted)")
    args = parser.parse_args()
    install_probe()
    gc.collect()
    gc.freeze()
    with tempfile.TemporaryDirectory() as folder:
        data_dir = Path(folder)
        ensure_event_keys(data_dir, PUBLISHERS)
        runs = []
        for _ in range(args.repeat):
            run = asyncio.run(
                one_rep(args.polls + (40 if args.rows else 20), args.records, data_dir, args.gap_ms / 1000, args.rows)
            )
            runs.append(run)
            print(
                f"{args.label} {args.polls} polls of {args.records}: per poll {run['cpu']:.3f} ms CPU (loop thread),"
                f" {run['wall']:.3f} ms wall, database {run['db']:.3f} ms CPU, {run['calls']:.2f} PostgreSQL calls;"
                f" {run['applied']:.0f} applied; load {os.getloadavg()[0]:.1f}",
                flush=True,
            )
        medians = {key: statistics.median(r[key] for r in runs) for key in ("cpu", "wall", "db", "calls")}
        print(
            f"{args.label} median per poll: CPU {medians['cpu']:.3f} ms, wall {medians['wall']:.3f} ms,"
            f" database {medians['db']:.3f} ms, calls {medians['calls']:.2f}"
        )


if __name__ == "__main__":
    main()
