"""A poll whose handler conflicts every time (a deterministic `ConcurrencyConflict`: a retry decides nothing new)
was applied again every 50 ms for ever, with no backoff and no sign of it: readiness said `subscription: ok`
while the consumer never advanced (session 11's notes). Now each retry waits twice as long as the one before
(up to `RETRY_AT_MOST_SECONDS`) and from `RETRIES_FAILING_AFTER` in a row the subscription is `failing`. The poll
is never dead-lettered: once the conflict clears it applies, and the subscription is not failing any more."""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from pmo_devstack.polling import eventually
from pmo_events.envelope import RecordedEvent
from pmo_events.runtime import ConcurrencyConflict, Database, KafkaSettings
from pmo_events.runtime import subscription as subscriptions
from pmo_events.runtime.subscription import Subscription

from .support import migrated
from .test_relay_and_subscription import Pipeline, add_to_total, pipeline, view_metadata
from .test_subscription_leadership import _objid

pytestmark = pytest.mark.integration
__all__ = ["pipeline"]


async def test_a_conflict_that_never_clears_makes_the_subscription_failing_and_backs_off(
    pipeline: Pipeline, topic_prefix: str
) -> None:
    counter = str(uuid.uuid4())
    await pipeline.increment(counter, 1)
    await eventually(lambda: pipeline.subscription.status.applied == 1)  # it is on the topic
    attempts: list[float] = []
    clears = asyncio.Event()

    async def conflicts(_session: object, event: RecordedEvent) -> None:
        attempts.append(time.monotonic())
        if not clears.is_set():
            raise ConcurrencyConflict(event.stream_id, 0)  # the same expected version, every time

    late = Subscription(
        name=f"{topic_prefix}-conflicting",  # offsets of its own: it reads the topic from the start
        topics=[pipeline.topic],
        db=pipeline.consumer_db,
        kafka=pipeline.subscription.kafka,
        handler=conflicts,
        dead_letter_topic=pipeline.dlq,
        trust=pipeline.trust,
    )
    task = asyncio.create_task(late.run())
    try:
        await eventually(lambda: late.status.failing, "the subscription says it is failing", timeout=30)
        assert late.status.retries_in_a_row >= subscriptions.RETRIES_FAILING_AFTER
        assert "ConcurrencyConflict" in (late.status.failing_with or "")
        assert late.status.connected and late.status.applied == 0 and late.status.dead_lettered == 0
        gaps = [b - a for a, b in itertools.pairwise(attempts)]
        assert gaps[-1] > 4 * gaps[0]  # backs off (it was 50 ms every time: ~20 attempts a second for ever)
        clears.set()
        await eventually(lambda: late.status.applied == 1, "the poll applies once the conflict clears", timeout=30)
        assert not late.status.failing and late.status.retries_in_a_row == 0
        assert late.status.dead_lettered == 0
    finally:
        await late.stop()
        await asyncio.wait_for(asyncio.gather(task, return_exceptions=True), 15)


async def test_failing_ends_when_the_lock_moves_and_nothing_is_left_to_apply(
    postgres_url: str, tmp_path: Path, kafka_bootstrap: str, topic_prefix: str
) -> None:
    """The holder retries a poll until it is failing, loses its lock (its session ended), the standby takes
    over and applies the poll, then stops (a rolling update): the first takes the lock back with nothing left
    to apply. It is idle and healthy, so readiness says so; the count of the earlier turn's retries stayed,
    and readiness answered 503 `failing` until the next record came (on a quiet topic, for good: s12 review F1)."""
    producer_db = await migrated(f"sqlite+aiosqlite:///{tmp_path / 'producer.db'}", tmp_path)
    consumer_db = await migrated(postgres_url, tmp_path)
    async with consumer_db.engine.begin() as conn:
        await conn.run_sync(view_metadata.create_all)
    other_db = Database(postgres_url)
    kafka = KafkaSettings(bootstrap_servers=kafka_bootstrap)
    held = Pipeline(producer_db, consumer_db, kafka, topic_prefix, tmp_path)
    cleared = asyncio.Event()

    async def conflicts(session: AsyncSession, event: RecordedEvent) -> None:
        if not cleared.is_set():
            raise ConcurrencyConflict(event.stream_id, 0)  # a lost race, say
        await add_to_total(session, event)

    held.subscription.handler = conflicts
    first = held.subscription
    second = Subscription(
        name=first.name,
        topics=[held.topic],
        db=other_db,
        kafka=kafka,
        handler=add_to_total,
        dead_letter_topic=held.dlq,
        trust=held.trust,
    )
    await held.start()
    admin = await asyncpg.connect(postgres_url.replace("postgresql+asyncpg://", "postgresql://"))
    second_task = None
    try:
        await eventually(lambda: first.status.active and first.status.connected, timeout=20)
        await held.increment(str(uuid.uuid4()), 1)
        await eventually(lambda: first.status.failing, "the holder failing", timeout=40)
        second_task = asyncio.create_task(second.run())
        await asyncio.sleep(1)
        await admin.fetch(
            "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted AND objid = $1"
            " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
            _objid(first.name),
        )
        await eventually(lambda: second.status.applied == 1, "the standby applies the poll", timeout=30)
        cleared.set()
        await second.stop()
        await asyncio.wait_for(second_task, 15)
        await eventually(lambda: first.status.active and first.status.connected, "the first holds it again", timeout=30)
        await eventually(lambda: not first.status.failing, "the first not failing", timeout=15)
        assert first.status.retries_in_a_row == 0
    finally:
        await admin.close()
        await second.stop()
        if second_task is not None and not second_task.done():
            second_task.cancel()
        await held.stop()
        await producer_db.dispose()
        await consumer_db.dispose()
        await other_db.dispose()
