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

import pytest

from pmo_devstack.polling import eventually
from pmo_events.envelope import RecordedEvent
from pmo_events.runtime import ConcurrencyConflict
from pmo_events.runtime import subscription as subscriptions
from pmo_events.runtime.subscription import Subscription

from .test_relay_and_subscription import Pipeline, pipeline

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
