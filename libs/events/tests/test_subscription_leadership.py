"""PostgreSQL, `assign` mode: of several processes running one subscription on one database (HTTP workers,
replicas), only the holder of the subscription's advisory lock consumes; the others wait for the lock on the
server and one of them takes over as soon as the holder's session ends."""

from __future__ import annotations

import asyncio
import time
import uuid
import zlib
from collections import Counter
from pathlib import Path
from typing import Literal

import asyncpg
import pytest

from pmo_devstack.polling import eventually
from pmo_events.envelope import RecordedEvent
from pmo_events.runtime import Database, KafkaSettings, Subscription

from .support import migrated
from .test_relay_and_subscription import Pipeline, add_to_total, view_metadata

pytestmark = pytest.mark.integration


async def test_one_process_consumes_and_another_takes_over_when_its_session_ends(
    postgres_url: str, tmp_path: Path, kafka_bootstrap: str, topic_prefix: str
) -> None:
    producer_db = await migrated(f"sqlite+aiosqlite:///{tmp_path / 'producer.db'}", tmp_path)
    consumer_db = await migrated(postgres_url, tmp_path)
    async with consumer_db.engine.begin() as conn:
        await conn.run_sync(view_metadata.create_all)
    other_db = Database(postgres_url)  # the other worker process's pool
    kafka = KafkaSettings(bootstrap_servers=kafka_bootstrap)
    pipeline = Pipeline(producer_db, consumer_db, kafka, topic_prefix, tmp_path)
    handled: Counter[str] = Counter()

    def counted(who: str):
        async def handle(session, event: RecordedEvent) -> None:
            handled[who] += 1
            await add_to_total(session, event)

        return handle

    pipeline.subscription.handler = counted("first")
    second = Subscription(
        name=pipeline.subscription.name,
        topics=[pipeline.topic],
        db=other_db,
        kafka=kafka,
        handler=counted("second"),
        dead_letter_topic=pipeline.dlq,
        trust=pipeline.trust,
    )
    first = pipeline.subscription
    await pipeline.start()
    second_task = asyncio.create_task(second.run())
    admin = await asyncpg.connect(postgres_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await eventually(lambda: _is(first.status.active != second.status.active))
        holder, standby = (first, second) if first.status.active else (second, first)
        await eventually(lambda: _is(holder.status.connected))
        counter = str(uuid.uuid4())
        for _ in range(10):
            await pipeline.increment(counter, 1)
        await eventually(lambda: _totals_are(pipeline, {counter: (10, 10)}))
        holder_name, standby_name = ("first", "second") if holder is first else ("second", "first")
        assert handled == {holder_name: 10}  # the standby neither fetched nor applied anything
        assert not standby.status.active and not standby.status.connected
        assert await _lock_holders(admin, first.name) == (1, 1)  # one granted, one queued on the server

        # The holder's session ends (its process died, a restart, an operator): the standby holds the lock
        # at once (no poll period) and the old holder steps down and queues again.
        started = time.monotonic()
        await admin.fetch(
            "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted AND objid = $1"
            " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
            _objid(first.name),
        )
        await eventually(lambda: _is(standby.status.active and standby.status.connected))
        assert time.monotonic() - started < 1.5
        await eventually(lambda: _is(not holder.status.active))
        for _ in range(5):
            await pipeline.increment(counter, 1)
        await eventually(lambda: _totals_are(pipeline, {counter: (15, 15)}))
        assert handled == {holder_name: 10, standby_name: 5}
        await eventually(lambda: _lock_holders_are(admin, first.name, (1, 1)))  # the old holder queued again
    finally:
        await admin.close()
        await second.stop()
        await pipeline.stop()
        # A queued subscription stops at once too (it leaves the server's queue).
        await asyncio.wait_for(second_task, 5)
        await producer_db.dispose()
        await consumer_db.dispose()
        await other_db.dispose()


async def test_a_subscription_in_group_mode_takes_no_lock(
    postgres_url: str, tmp_path: Path, kafka_bootstrap: str, topic_prefix: str
) -> None:
    """In `group` mode the group shares the partitions among its members: no lock, every member consumes."""
    consumer_db = Database(postgres_url)
    trust = Pipeline(consumer_db, consumer_db, KafkaSettings(), topic_prefix, tmp_path).trust

    def subscription(mode: Literal["assign", "group"]) -> Subscription:
        return Subscription(
            name=f"{topic_prefix}-consumer",
            topics=[f"{topic_prefix}.test.events"],
            db=consumer_db,
            kafka=KafkaSettings(bootstrap_servers=kafka_bootstrap, consumer_mode=mode),
            handler=add_to_total,
            dead_letter_topic=f"{topic_prefix}.deadletter",
            trust=trust,
        )

    assert subscription("group")._lock is None
    assert subscription("assign")._lock is not None
    await consumer_db.dispose()


def _objid(name: str) -> int:
    return zlib.crc32(f"pmo-subscription:{name}".encode())


async def _lock_holders(admin: asyncpg.Connection, name: str) -> tuple[int, int]:
    """(sessions holding the subscription's lock, sessions queued for it) in the test's database."""
    rows = await admin.fetch(
        "SELECT granted FROM pg_locks WHERE locktype = 'advisory' AND objid = $1"
        " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
        _objid(name),
    )
    return sum(r["granted"] for r in rows), sum(not r["granted"] for r in rows)


async def _lock_holders_are(admin: asyncpg.Connection, name: str, expected: tuple[int, int]) -> bool:
    return await _lock_holders(admin, name) == expected


async def _totals_are(pipeline: Pipeline, expected: dict[str, tuple[int, int]]) -> bool:
    return await pipeline.totals() == expected


async def _is(value: bool) -> bool:
    return value
