"""A poll whose COMMIT reached the database but whose reply was lost (the connection dropped after the server
committed) fails transiently: its counts were taken back as for a poll that never committed, and the retry, read
from the stored offsets, starts after it, so its applied events and dead letters were never counted (session 11
review 2, R2-4: readiness and `pmo_subscription_dead_letters_total` under-counted). Now the counts of a poll that
failed are kept aside and given back when the stored offsets show the poll committed."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from sqlalchemy.ext.asyncio import AsyncSession

from pmo_devstack.polling import eventually
from pmo_events.runtime import Database, KafkaSettings, Subscription
from pmo_events.runtime.subscription import TransientFailure

from .test_relay_and_subscription import Pipeline, _equals, _pending_is_zero, add_to_total, stopped_pipeline

pytestmark = pytest.mark.integration
__all__ = ["stopped_pipeline"]


async def test_a_poll_whose_commit_reply_is_lost_is_counted_once(
    stopped_pipeline: Pipeline, kafka_bootstrap: str
) -> None:
    pipeline = stopped_pipeline
    counters = [str(uuid.uuid4()) for _ in range(3)]
    for counter in counters:
        await pipeline.increment(counter, 1)
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await producer.start()
    try:  # unsigned: dead-lettered
        await producer.send_and_wait(pipeline.topic, b"{}", key=b"nobody", headers=[("ce_id", b"x")])
    finally:
        await producer.stop()
    await eventually(lambda: _pending_is_zero(pipeline))
    subscription = pipeline.subscription
    apply = subscription._apply_in_transaction
    lost: list[int] = []

    async def reply_lost(*args: Any, **kwargs: Any) -> int:
        applied = await apply(*args, **kwargs)  # committed
        if not lost:
            lost.append(applied)
            raise TransientFailure("the connection dropped before COMMIT's reply")
        return applied

    subscription._apply_in_transaction = reply_lost  # type: ignore[method-assign]
    pipeline.tasks.append(asyncio.create_task(subscription.run()))
    await eventually(lambda: _equals(pipeline.totals(), {counter: (1, 1) for counter in counters}))
    await eventually(lambda: bool(lost) and subscription.status.retries_in_a_row == 0, timeout=30)
    assert lost and sum(lost) > 0, "the lost reply was injected"
    for counter in counters:
        await pipeline.increment(counter, 2)
    await eventually(lambda: _equals(pipeline.totals(), {counter: (3, 2) for counter in counters}))
    status = subscription.status
    await eventually(lambda: status.applied == 6, f"applied {status.applied}, not 6", timeout=30)
    assert (status.dead_lettered, sum(status.dead_letters.values())) == (1, 1)


class _NeverCommits:
    """The consumer's database, whose transactions do all their work and then fail before COMMIT (rolled back)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def __getattr__(self, name: str) -> Any:
        return getattr(self._db, name)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        async with self._db.transaction() as session:
            yield session
            raise TransientFailure("the connection dropped before COMMIT")


async def test_a_poll_that_did_not_commit_is_not_counted_when_another_holder_stored_its_offsets(
    stopped_pipeline: Pipeline, kafka_bootstrap: str
) -> None:
    """Review F4 of session 13: a poll that failed was counted as committed when the stored offsets were the ones its
    commit writes. In group mode another member may have applied the same records meanwhile (the partition moved to
    it) and stored the same end offsets: the poll that never committed was counted too (applied 3 and a dead letter
    here, for records another holder applied and counted). Each poll's offsets now carry its id."""
    pipeline = stopped_pipeline
    counters = [str(uuid.uuid4()) for _ in range(3)]
    for counter in counters:
        await pipeline.increment(counter, 1)
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await producer.start()
    try:  # unsigned: dead-lettered
        await producer.send_and_wait(pipeline.topic, b"{}", key=b"nobody", headers=[("ce_id", b"x")])
    finally:
        await producer.stop()
    await eventually(lambda: _pending_is_zero(pipeline))
    subscription = pipeline.subscription
    group = KafkaSettings(bootstrap_servers=kafka_bootstrap, consumer_mode="group")
    # The partition's next holder in the group, given the same poll (no consumer of its own: it only applies).
    other = Subscription(
        name=subscription.name,
        topics=[pipeline.topic],
        db=pipeline.consumer_db,
        kafka=group,
        handler=add_to_total,
        dead_letter_topic=pipeline.dlq,
        trust=pipeline.trust,
    )
    apply = subscription._apply_in_transaction
    db = subscription.db
    taken: list[int] = []

    async def rolled_back_then_applied_by_the_other(*args: Any, **kwargs: Any) -> int:
        if taken:
            return await apply(*args, **kwargs)
        subscription.db = _NeverCommits(db)  # type: ignore[assignment]
        try:
            return await apply(*args, **kwargs)
        except TransientFailure:
            taken.append(subscription._attempt_applied)
            other._epoch = subscription._epoch
            await other._apply_batch(*args[:2])  # commits the same records, the same end offsets
            raise
        finally:
            subscription.db = db

    subscription._apply_in_transaction = rolled_back_then_applied_by_the_other  # type: ignore[method-assign]
    pipeline.tasks.append(asyncio.create_task(subscription.run()))
    await eventually(lambda: _equals(pipeline.totals(), {counter: (1, 1) for counter in counters}))
    await eventually(lambda: bool(taken) and subscription.status.retries_in_a_row == 0, timeout=30)
    assert taken == [3], "this process's poll applied the three events, then did not commit"
    assert (other.status.applied, other.status.dead_lettered) == (3, 1)
    for counter in counters:
        await pipeline.increment(counter, 2)
    await eventually(lambda: _equals(pipeline.totals(), {counter: (3, 2) for counter in counters}))
    status = subscription.status
    await eventually(lambda: status.applied >= 3, f"applied {status.applied}", timeout=30)
    assert (status.applied, status.dead_lettered, sum(status.dead_letters.values())) == (3, 0, 0)
