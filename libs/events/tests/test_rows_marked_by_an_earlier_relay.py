"""Rows a relay of an earlier release marked sent (`published_at` set, during a rolling update) leave the outbox
when a relay of this release takes the lead (session 11 review 2, R2-3). Since ae87813 the relay deletes what the
broker acknowledged and reads only unmarked rows; runtime_0003 deleted the marked rows of its day once, but those an
old relay marked after it stayed for good (every outbox read walked over them: the partial index is gone). They go
once per lead, after its first round, not on every reconnection to the broker (s12 review F2)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from pmo_devstack.keys import event_signer
from pmo_devstack.polling import eventually
from pmo_events.runtime import CommandRuntime, EventStore, KafkaSettings, Metadata, OutboxRelay, relay
from pmo_events.runtime.schema import outbox

from .support import COUNTER, Incremented, migrated

pytestmark = pytest.mark.integration


async def test_rows_an_earlier_relay_marked_leave_the_outbox_when_this_one_takes_the_lead(
    database_url: str, tmp_path: Path, kafka_bootstrap: str, topic_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(relay, "MARKED_BATCH", 2)  # several batches: 5 rows, 2 a transaction
    db = await migrated(database_url, tmp_path)
    topic = f"{topic_prefix}.test.events"
    now = datetime.now(UTC)
    marked = {"topic": topic, "headers": "{}", "value": b"{}", "created_at": now, "published_at": now}
    async with db.transaction() as session:
        await session.execute(outbox.insert(), [marked | {"key": f"old{n}"} for n in range(5)])
    signer = event_signer(tmp_path, "test")
    publisher = OutboxRelay(
        db, KafkaSettings(bootstrap_servers=kafka_bootstrap), service="test", topic=topic, poll_interval=0.2,
        signer=signer,
    )  # fmt: skip
    runtime = CommandRuntime(db, EventStore(source="/pmo/test", topic=topic, signer=signer), on_commit=publisher.wake)
    counter = str(uuid.uuid4())
    async with runtime.unit_of_work(Metadata(actor="tester")) as uow:
        await uow.append(COUNTER, counter, 0, [Incremented(counter_id=counter, by=1)])

    async def outbox_rows() -> int:
        async with db.sessions() as session:
            return int((await session.execute(select(func.count()).select_from(outbox))).scalar_one())

    assert await outbox_rows() == 6
    task = asyncio.create_task(publisher.run())
    try:
        await eventually(lambda: publisher.status.published == 1, "the unsent row published", timeout=30)
        # The marked rows go after the lead's first round (not before its first publish), a batch a round.
        await eventually(lambda: _is(outbox_rows(), 0), "the marked rows deleted", timeout=30)
    finally:
        await publisher.stop(flush_timeout=2)
        await asyncio.wait_for(asyncio.gather(task, return_exceptions=True), 15)
        await db.dispose()


async def _is(count: Awaitable[int], expected: int) -> bool:
    return await count == expected


async def test_a_reconnection_to_the_broker_without_a_new_lead_does_not_scan_for_marked_rows_again(
    database_url: str, tmp_path: Path, kafka_bootstrap: str, topic_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rows are looked for once per lead (until a batch finds none), not in every reconnection to the broker:
    each look is a scan of the outbox (no index on `published_at`), and a reconnection may come every few seconds
    while the broker is away. Shown by a marked row written after the lead's look: a reconnection leaves it (it
    was deleted there before, s12 review F2); the next lead deletes it."""
    db = await migrated(database_url, tmp_path)
    topic = f"{topic_prefix}.test.events"
    signer = event_signer(tmp_path, "test")
    settings = KafkaSettings(bootstrap_servers=kafka_bootstrap)
    publisher = OutboxRelay(db, settings, service="test", topic=topic, poll_interval=0.2, signer=signer)
    runtime = CommandRuntime(db, EventStore(source="/pmo/test", topic=topic, signer=signer), on_commit=publisher.wake)

    async def increment() -> None:
        counter = str(uuid.uuid4())
        async with runtime.unit_of_work(Metadata(actor="tester")) as uow:
            await uow.append(COUNTER, counter, 0, [Incremented(counter_id=counter, by=1)])

    async def marked_rows() -> int:
        async with db.sessions() as session:
            query = select(func.count()).select_from(outbox).where(outbox.c.published_at.is_not(None))
            return int((await session.execute(query)).scalar_one())

    connections = 0
    connect = publisher._connect

    async def counted_connect() -> None:
        nonlocal connections
        connections += 1
        await connect()

    broker_away = asyncio.Event()
    publish_batch = publisher._publish_batch

    async def failing_once() -> int:
        if broker_away.is_set():
            broker_away.clear()
            raise ConnectionError("the broker went away (test)")
        return await publish_batch()

    monkeypatch.setattr(publisher, "_connect", counted_connect)
    monkeypatch.setattr(publisher, "_publish_batch", failing_once)
    await increment()
    task = asyncio.create_task(publisher.run())
    try:
        await eventually(lambda: publisher.status.published == 1, "the first event published", timeout=30)
        await eventually(lambda: not getattr(publisher, "_marked_left", False), "the look for marked rows done")
        now = datetime.now(UTC)
        async with db.transaction() as session:
            await session.execute(
                outbox.insert().values(
                    topic=topic, key="late", headers="{}", value=b"{}", created_at=now, published_at=now
                )
            )
        broker_away.set()
        publisher.wake()
        await eventually(lambda: connections == 2, "the relay reconnected", timeout=30)
        await increment()
        await eventually(lambda: publisher.status.published == 2, "the next event published", timeout=30)
        assert publisher.status.active and connections == 2
        assert await marked_rows() == 1  # not looked for again: the lead is the same
    finally:
        await publisher.stop(flush_timeout=2)
        await asyncio.wait_for(asyncio.gather(task, return_exceptions=True), 15)
    # The next lead (a new relay: on PostgreSQL it takes the lock the first gave up) looks again.
    successor = OutboxRelay(db, settings, service="test", topic=topic, poll_interval=0.2, signer=signer)
    task = asyncio.create_task(successor.run())
    try:
        await eventually(lambda: _is(marked_rows(), 0), "the marked row deleted by the next lead", timeout=30)
    finally:
        await successor.stop(flush_timeout=2)
        await asyncio.wait_for(asyncio.gather(task, return_exceptions=True), 15)
        await db.dispose()
