"""PostgreSQL: the relay on a thread and loop of its own (`RelayThread`) publishes what commits on the caller's
loop, in order and once, holds the advisory lock on its own pool, and a cancelled `run()` returns only after
the relay ended there (its lock given up), as the supervisor's stop expects."""

from __future__ import annotations

import asyncio
import threading
import zlib
from pathlib import Path

import asyncpg
import pytest

from pmo_devstack.polling import eventually
from pmo_events.runtime import CommandRuntime, Database, EventStore, Metadata
from pmo_events.runtime.kafka import KafkaSettings
from pmo_events.runtime.relay import RelayThread

from .support import COUNTER, Incremented, migrated, pending_is, published

pytestmark = pytest.mark.integration


async def test_a_relay_on_its_own_thread_publishes_every_commit_in_order_and_stops_cleanly(
    postgres_url: str, kafka_bootstrap: str, topic_prefix: str, tmp_path: Path
) -> None:
    db = await migrated(postgres_url, tmp_path)
    topic = f"{topic_prefix}.test.events"
    relay = RelayThread(
        db,
        Database(postgres_url, pool_size=2),
        KafkaSettings(bootstrap_servers=kafka_bootstrap),
        service="test",
        topic=topic,
        poll_interval=30,
    )  # fmt: skip (no poll: only wake-ups)
    task = asyncio.create_task(relay.run())
    admin = await asyncpg.connect(postgres_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await eventually(lambda: relay.status.connected and relay.status.active)
        threads = [t for t in threading.enumerate() if t.name == "relay-test"]
        assert len(threads) == 1 and threads[0] is not threading.current_thread()
        runtime = CommandRuntime(db, EventStore(source="/pmo/test", topic=topic), on_commit=relay.wake)
        for _ in range(40):
            async with runtime.unit_of_work(Metadata(actor="tester")) as uow:
                loaded = await uow.load(COUNTER, "c")
                await uow.append(COUNTER, "c", loaded.version, [Incremented(counter_id="c", by=1)])
        await eventually(lambda: pending_is(relay, 0), timeout=10.0)  # woken: its poll is 30 s
        sequences = [int(dict(r.headers)["ce_sequence"]) for r in await published(kafka_bootstrap, topic)]
        assert sequences == list(range(1, 41))  # each once, in order
        assert relay.status.published == 40
        # Cancelled as the supervisor's stop cancels a part: it returns once the relay gave its lock up.
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(task, 15)
        assert not relay.status.active
        assert await admin.fetchval("SELECT pg_try_advisory_lock($1)", zlib.crc32(b"pmo-relay:test"))
        await relay.close()
        assert not threads[0].is_alive()
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await relay.close()
        await admin.close()
        await db.dispose()


async def test_tasks_left_on_the_relay_s_loop_are_ended_when_its_thread_closes(
    postgres_url: str, kafka_bootstrap: str, topic_prefix: str, tmp_path: Path
) -> None:
    """A cancelled run can leave tasks on the relay's loop (aiokafka's, when the cancel landed in the producer's
    stop): closing the thread cancels and ends them before the loop closes, so none is destroyed pending with its
    sockets open (review 2 of session 8, L2)."""
    db = await migrated(postgres_url, tmp_path)
    relay = RelayThread(
        db,
        Database(postgres_url, pool_size=2),
        KafkaSettings(bootstrap_servers=kafka_bootstrap),
        service="test",
        topic=f"{topic_prefix}.test.events",
    )
    task = asyncio.create_task(relay.run())
    try:
        await eventually(lambda: relay.status.connected and relay.status.active)
        loop = relay._loop
        assert loop is not None
        left = asyncio.run_coroutine_threadsafe(_left_behind(), loop).result(5)  # a task nothing awaits
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await relay.close()
        assert left.cancelled()
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await relay.close()
        await db.dispose()


async def _left_behind() -> asyncio.Task[None]:
    return asyncio.get_running_loop().create_task(asyncio.sleep(3600))


async def test_commits_while_the_relay_is_woken_already_queue_no_hop_to_its_loop_and_are_all_published(
    postgres_url: str, kafka_bootstrap: str, topic_prefix: str, tmp_path: Path
) -> None:
    """A commit while the relay is woken already (a commit since its last read: its next round reads the outbox
    anyway) sends nothing to the relay's loop: under load that hop was a thread switch per commit and did nothing
    (issue 17). Every commit is still published, in order."""
    db = await migrated(postgres_url, tmp_path)
    topic = f"{topic_prefix}.test.events"
    relay = RelayThread(
        db,
        Database(postgres_url, pool_size=2),
        KafkaSettings(bootstrap_servers=kafka_bootstrap),
        service="test",
        topic=topic,
        poll_interval=30,
        busy_interval=5.0,
    )  # fmt: skip (no poll; after a round that published, the next starts 5 s later: woken meanwhile)
    hops = 0
    woken = relay._woken

    def counted() -> None:
        nonlocal hops
        hops += 1
        woken()

    relay._woken = counted  # type: ignore[method-assign]
    task = asyncio.create_task(relay.run())
    try:
        await eventually(lambda: relay.status.connected and relay.status.active)
        runtime = CommandRuntime(db, EventStore(source="/pmo/test", topic=topic), on_commit=relay.wake)

        async def commit() -> None:
            async with runtime.unit_of_work(Metadata(actor="tester")) as uow:
                loaded = await uow.load(COUNTER, "c")
                await uow.append(COUNTER, "c", loaded.version, [Incremented(counter_id="c", by=1)])

        await commit()  # wakes the relay: a round that publishes it
        await eventually(lambda: relay.status.published == 1, timeout=10.0)
        await commit()  # wakes it again: it waits out its busy interval, woken
        await eventually(lambda: relay.relay._wake.is_set())
        before = hops
        for _ in range(20):
            await commit()
        assert hops - before <= 2  # the old code: one hop per commit (20)
        await eventually(lambda: pending_is(relay, 0), timeout=20.0)
        sequences = [int(dict(r.headers)["ce_sequence"]) for r in await published(kafka_bootstrap, topic)]
        assert sequences == list(range(1, 23))  # each once, in order
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await relay.close()
        await db.dispose()
