"""PostgreSQL: the relay that holds the advisory lock (and LISTENs on its connection) notices when that
connection dies and queues for the lock again, so two relays never publish side by side, and every event
still goes out once."""

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
from pmo_events.runtime.relay import OutboxRelay, RelayThread, requeue_store

from .support import COUNTER, Incremented, migrated, pending_is, published

pytestmark = pytest.mark.integration


async def test_a_relay_whose_lock_connection_dies_queues_for_the_lock_again(
    postgres_url: str, kafka_bootstrap: str, topic_prefix: str, tmp_path: Path
) -> None:
    db = await migrated(postgres_url, tmp_path)
    other_db = Database(postgres_url)  # another process's relay, queued for the lock
    kafka = KafkaSettings(bootstrap_servers=kafka_bootstrap)
    topic = f"{topic_prefix}.test.events"
    first = OutboxRelay(db, kafka, service="test", topic=topic, poll_interval=0.2)
    second = OutboxRelay(other_db, kafka, service="test", topic=topic, poll_interval=0.2)
    tasks = [asyncio.create_task(first.run())]
    try:
        await eventually(lambda: first.status.connected and first.status.active)
        tasks.append(asyncio.create_task(second.run()))
        await asyncio.sleep(0.5)
        assert not second.status.active
        admin = await asyncpg.connect(postgres_url.replace("postgresql+asyncpg://", "postgresql://"))
        try:  # the server ends the lock holder's session (a restart, an idle timeout, an operator)
            ended = await admin.fetch(
                "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted"
                " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
            )
        finally:
            await admin.close()
        assert len(ended) == 1
        await asyncio.sleep(3)  # the queued relay tries the lock every 2 s
        # One holds the lock (either may have it now); before, the first never noticed and both published.
        assert first.status.active != second.status.active
        runtime = CommandRuntime(db, EventStore(source="/pmo/test", topic=topic), on_commit=first.wake)
        for _ in range(50):
            async with runtime.unit_of_work(Metadata(actor="tester")) as uow:
                loaded = await uow.load(COUNTER, "c")
                await uow.append(COUNTER, "c", loaded.version, [Incremented(counter_id="c", by=1)])
        await eventually(lambda: pending_is(first, 0))
        assert first.status.active != second.status.active
        assert len(await published(kafka_bootstrap, topic)) == 50  # each event once: one publisher
    finally:
        await first.stop(flush_timeout=1)
        await second.stop(flush_timeout=1)
        await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 15)
        await db.dispose()
        await other_db.dispose()


async def test_a_relay_stepping_down_marks_what_it_sent_before_it_queues_for_the_lock(
    postgres_url: str, kafka_bootstrap: str, topic_prefix: str, tmp_path: Path
) -> None:
    """A batch the broker acknowledged whose mark waits for the next read (`_unmarked`) is marked when the
    relay loses its lock; else the next holder sends it again."""
    db = await migrated(postgres_url, tmp_path)
    topic = f"{topic_prefix}.test.events"
    relay = OutboxRelay(db, KafkaSettings(bootstrap_servers=kafka_bootstrap), service="test", topic=topic,
                        poll_interval=30)  # fmt: skip
    task = asyncio.create_task(relay.run())
    admin_url = postgres_url.replace("postgresql+asyncpg://", "postgresql://")
    waiter, killer = await asyncpg.connect(admin_url), await asyncpg.connect(admin_url)
    try:
        await eventually(lambda: relay.status.connected and relay.status.active)
        runtime = CommandRuntime(db, EventStore(source="/pmo/test", topic=topic), on_commit=relay.wake)
        for _ in range(5):
            async with runtime.unit_of_work(Metadata(actor="tester")) as uow:
                loaded = await uow.load(COUNTER, "c")
                await uow.append(COUNTER, "c", loaded.version, [Incremented(counter_id="c", by=1)])
        await eventually(lambda: pending_is(relay, 0))
        # As after a round that deferred its mark: sent, acknowledged, still in the outbox (the store's events put
        # back in it, the relay not woken: it polls every 30 s).
        async with db.transaction() as session:
            assert await requeue_store(session, service="test", topic=topic, signer=None) == 5
        ids = [r["id"] for r in await killer.fetch("SELECT id FROM pmo_outbox")]
        assert len(ids) == 5
        relay._unmarked = ids
        key = zlib.crc32(b"pmo-relay:test")
        queued = asyncio.create_task(waiter.execute("SELECT pg_advisory_lock($1)", key))  # the next holder
        await asyncio.sleep(0.3)
        await killer.fetch(
            "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted"
            " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        )
        await asyncio.wait_for(queued, 10)
        await eventually(lambda: not relay.status.active)
        assert await relay.pending() == 0  # fails before: the 5 stayed unmarked for the next holder to resend
    finally:
        await relay.stop(flush_timeout=1)
        await asyncio.wait_for(asyncio.gather(task, return_exceptions=True), 15)
        await waiter.close()
        await killer.close()
        await db.dispose()


async def test_a_cancel_while_the_relay_closes_its_producer_still_releases_the_lock(
    postgres_url: str, kafka_bootstrap: str, topic_prefix: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stop whose grace ran out cancels the relay while it is still ending (closing its producer with the
    broker away, say): the lock is released all the same, or no other process's relay could take over while this
    one lives on (review 2 of session 8: the cancel skipped the rest of the relay's `finally`)."""
    db = await migrated(postgres_url, tmp_path)
    relay = OutboxRelay(
        db, KafkaSettings(bootstrap_servers=kafka_bootstrap), service="test", topic=f"{topic_prefix}.test.events"
    )
    task = asyncio.create_task(relay.run())
    try:
        await eventually(lambda: relay.status.connected and relay.status.active)
        close_producer = relay._close_producer

        async def cancelled_while_closing() -> None:
            await close_producer()
            raise asyncio.CancelledError  # as a cancel landing in `producer.stop()` would

        monkeypatch.setattr(relay, "_close_producer", cancelled_while_closing)
        await relay.stop(flush_timeout=1.0)
        with pytest.raises(asyncio.CancelledError):
            await task
        assert not relay.status.active
        assert await _advisory_locks_held(postgres_url) == 0
    finally:
        task.cancel()
        await db.dispose()


async def _advisory_locks_held(postgres_url: str) -> int:
    admin = await asyncpg.connect(postgres_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        return int(
            await admin.fetchval(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
                " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
            )
        )
    finally:
        await admin.close()


@pytest.mark.parametrize("on_thread", [False, True], ids=["on-the-loop", "relay-thread"])
async def test_a_relay_that_loses_its_lock_while_woken_announces_the_commits_it_will_not_read(
    postgres_url: str, kafka_bootstrap: str, topic_prefix: str, tmp_path: Path, on_thread: bool
) -> None:
    """A commit in the process of the relay that leads is not announced (the relay reads the outbox itself). When
    that relay's lock went with its connection and another process's relay took the lock, read the outbox and went
    idle before the commit, the first relay found out only at its next round, and never read the row: the new
    holder found it at its next poll, `poll_interval` later (review of 49ae07e: `RelayThread.wake` does not hop
    when the relay is woken already; the relay on the loop skips its NOTIFY when it leads). It announces now."""
    db = await migrated(postgres_url, tmp_path)
    other_db = Database(postgres_url)  # another process's relay, queued for the lock
    kafka = KafkaSettings(bootstrap_servers=kafka_bootstrap)
    topic = f"{topic_prefix}.test.events"
    first: OutboxRelay | RelayThread = (
        RelayThread(db, Database(postgres_url, pool_size=2), kafka, service="test", topic=topic, poll_interval=30)
        if on_thread
        else OutboxRelay(db, kafka, service="test", topic=topic, poll_interval=30)
    )  # no poll: only wake-ups and NOTIFYs
    leader = first.relay if isinstance(first, RelayThread) else first
    second = OutboxRelay(other_db, kafka, service="test", topic=topic, poll_interval=30)
    # The first relay's next round waits at its look at the lock until the gate opens (on its own loop).
    gate, held = threading.Event(), threading.Event()
    gate.set()
    check = leader._check_leadership

    async def gated() -> None:
        if not gate.is_set():
            held.set()
            await asyncio.to_thread(gate.wait)
        await check()

    leader._check_leadership = gated  # type: ignore[method-assign]
    reads = 0
    publish = second._publish_batch

    async def counted() -> int:
        nonlocal reads
        found = await publish()
        reads += 1
        return found

    second._publish_batch = counted  # type: ignore[method-assign]
    tasks = [asyncio.create_task(first.run())]
    admin = await asyncpg.connect(postgres_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await eventually(lambda: leader.status.connected and leader.status.active)
        tasks.append(asyncio.create_task(second.run()))
        gate.clear()
        first.wake()  # a round starts, woken, and waits at the gate
        await eventually(held.is_set)
        pid = leader._lock.driver.get_server_pid()  # type: ignore[union-attr]
        assert await admin.fetchval("SELECT pg_terminate_backend($1)", pid)
        await eventually(lambda: second.status.active and reads >= 1, timeout=15)  # took over, read, idle
        assert leader.status.active and leader._wake.is_set()  # the first does not know yet, and is woken
        runtime = CommandRuntime(db, EventStore(source="/pmo/test", topic=topic), on_commit=first.wake)
        async with runtime.unit_of_work(Metadata(actor="tester")) as uow:
            loaded = await uow.load(COUNTER, "c")
            await uow.append(COUNTER, "c", loaded.version, [Incremented(counter_id="c", by=1)])
        gate.set()
        await eventually(lambda: not leader.status.active)
        # Before: the row waited for the new holder's poll, 30 s.
        await eventually(lambda: pending_is(second, 0), "published by the new holder", timeout=10)
        assert len(await published(kafka_bootstrap, topic)) == 1
    finally:
        gate.set()
        await first.stop(flush_timeout=1)
        await second.stop(flush_timeout=1)
        await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 15)
        if isinstance(first, RelayThread):
            await first.close()
        await admin.close()
        await db.dispose()
        await other_db.dispose()
