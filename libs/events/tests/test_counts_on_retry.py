"""A poll applied again whole after a transient failure counts its records once (carried from session 8's notes:
the forged-record counter counted twice). A refused record was counted (`rejected`) by the poll's first attempt
before anything was written; when that attempt failed transiently (a lost race, the database away) its
transaction was rolled back and the poll read again, and the retry counted the same record a second time. Now
a poll's counts stand only once it commits."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest

from pmo_devstack.polling import eventually
from pmo_events.envelope import RecordedEvent
from pmo_events.runtime.subscription import Subscription, TransientFailure

from .test_forgeries_and_parking import forged, send_raw
from .test_relay_and_subscription import Pipeline, pipeline

pytestmark = pytest.mark.integration
__all__ = ["pipeline"]


async def test_a_poll_retried_after_a_transient_failure_counts_its_forged_record_once(
    pipeline: Pipeline, kafka_bootstrap: str, tmp_path: Path, topic_prefix: str
) -> None:
    counter = str(uuid.uuid4())
    await pipeline.increment(counter, 1)
    await send_raw(kafka_bootstrap, pipeline.topic, forged(counter, 2, 100), None)  # unsigned
    await pipeline.increment(counter, 2)
    await eventually(lambda: pipeline.subscription.status.applied == 2)  # all three are on the topic
    handled: list[RecordedEvent] = []

    async def fails_once(_session: object, event: RecordedEvent) -> None:
        if not handled:
            handled.append(event)
            raise TransientFailure("the database went away")  # the whole poll is applied again
        handled.append(event)

    late = Subscription(
        name=f"{topic_prefix}-late",  # offsets of its own: it reads the topic from the start, in one poll
        topics=[pipeline.topic],
        db=pipeline.consumer_db,
        kafka=pipeline.subscription.kafka,
        handler=fails_once,
        dead_letter_topic=pipeline.dlq,
        trust=pipeline.trust,
    )
    task = asyncio.create_task(late.run())
    try:
        await eventually(lambda: late.status.applied == 2)
    finally:
        await late.stop()
        await asyncio.wait_for(asyncio.gather(task, return_exceptions=True), 15)
    assert len(handled) == 3  # the first attempt's event, then the poll's two again
    assert (late.status.rejected, late.status.dead_lettered) == (1, 1)
    assert late.status.dead_letters["unsigned"] == 1
