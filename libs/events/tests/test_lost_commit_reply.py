"""A poll whose COMMIT reached the database but whose reply was lost (the connection dropped after the server
committed) fails transiently: its counts were taken back as for a poll that never committed, and the retry, read
from the stored offsets, starts after it, so its applied events and dead letters were never counted (session 11
review 2, R2-4: readiness and `pmo_subscription_dead_letters_total` under-counted). Now the counts of a poll that
failed are kept aside and given back when the stored offsets show the poll committed."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer

from pmo_devstack.polling import eventually
from pmo_events.runtime.subscription import TransientFailure

from .test_relay_and_subscription import Pipeline, _equals, _pending_is_zero, stopped_pipeline

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
