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
