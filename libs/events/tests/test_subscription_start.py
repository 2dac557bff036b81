"""A subscription's start (issue 17, the first poll of a small catch-up): its topics and the broker epoch's are
ensured by one admin connection, and the epoch's read, the consumer's start and the stored offsets' read run side
by side (one after another they were most of the start), and it still resumes from the offsets it stored."""

from __future__ import annotations

import asyncio
import contextvars
import uuid
from pathlib import Path
from typing import Any

import pytest

from pmo_devstack.polling import eventually
from pmo_events.runtime import kafka as kafka_module
from pmo_events.runtime import subscription as subscription_module

from .support import migrated
from .test_relay_and_subscription import Pipeline, view_metadata

pytestmark = pytest.mark.integration


async def test_a_start_ensures_topics_once_and_reads_the_epoch_beside_the_stored_offsets(
    database_url: str,
    tmp_path: Path,
    kafka_bootstrap: str,
    topic_prefix: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    producer_db = await migrated(f"sqlite+aiosqlite:///{tmp_path / 'producer.db'}", tmp_path)
    consumer_db = await migrated(database_url, tmp_path)
    async with consumer_db.engine.begin() as conn:
        await conn.run_sync(view_metadata.create_all)
    pipeline = Pipeline(producer_db, consumer_db, kafka_module.KafkaSettings(bootstrap_servers=kafka_bootstrap),
                        topic_prefix, tmp_path)  # fmt: skip
    ensured: list[list[str]] = []  # by the subscription's start
    by_its_epoch: list[list[str]] = []  # by `broker_epoch` on the subscription's behalf (not the relays')
    reading_its_epoch: contextvars.ContextVar[bool] = contextvars.ContextVar("reading_its_epoch", default=False)
    ensure_topics, broker_epoch, stored_offsets = (
        subscription_module.ensure_topics, subscription_module.broker_epoch, subscription_module.stored_offsets
    )  # fmt: skip
    stored_read: asyncio.Event | None = None
    beside: list[bool] = []

    async def noted_ensure(settings: Any, topics: list[str], **kwargs: Any) -> Any:
        ensured.append(list(topics))
        return await ensure_topics(settings, topics, **kwargs)

    async def noted_epoch_ensure(settings: Any, topics: list[str], **kwargs: Any) -> Any:
        if reading_its_epoch.get():
            by_its_epoch.append(list(topics))
        return await ensure_topics(settings, topics, **kwargs)

    async def epoch_once_the_offsets_are_being_read(settings: Any, **kwargs: Any) -> str:
        # Waits (a while) for the stored offsets' read to begin: it does only when they run side by side.
        assert stored_read is not None
        try:
            await asyncio.wait_for(stored_read.wait(), 3)
            beside.append(True)
        except TimeoutError:
            beside.append(False)
        token = reading_its_epoch.set(True)
        try:
            return await broker_epoch(settings, **kwargs)
        finally:
            reading_its_epoch.reset(token)

    async def noted_offsets(session: Any, consumer: str) -> Any:
        if stored_read is not None:
            stored_read.set()
        return await stored_offsets(session, consumer)

    monkeypatch.setattr(subscription_module, "ensure_topics", noted_ensure)
    monkeypatch.setattr(kafka_module, "ensure_topics", noted_epoch_ensure)  # what `broker_epoch` calls
    monkeypatch.setattr(subscription_module, "broker_epoch", epoch_once_the_offsets_are_being_read)
    monkeypatch.setattr(subscription_module, "stored_offsets", noted_offsets)
    counter = str(uuid.uuid4())
    stored_read = asyncio.Event()
    await pipeline.start()
    try:
        for _ in range(3):
            await pipeline.increment(counter, 1)
        await eventually(lambda: _totals_are(pipeline, {counter: (3, 3)}))
        # A new process's subscription: it resumes from the offsets the first stored (nothing applied twice).
        first = pipeline.subscription
        await first.stop()
        await asyncio.wait_for(pipeline.tasks[1], 15)
        stored_read = asyncio.Event()
        pipeline.subscription = _again(first)
        pipeline.tasks[1] = asyncio.create_task(pipeline.subscription.run())
        await pipeline.increment(counter, 1)
        await eventually(lambda: _totals_are(pipeline, {counter: (4, 4)}))
        assert len(ensured) == 2
        assert all(kafka_module.EPOCH_TOPIC in topics and pipeline.topic in topics for topics in ensured)
        assert by_its_epoch == [], "the epoch topic ensured again, by an admin connection of its own"
        assert beside == [True, True], "the stored offsets were read only after the broker's epoch"
    finally:
        await pipeline.stop()
        await producer_db.dispose()
        await consumer_db.dispose()


def _again(first: subscription_module.Subscription) -> subscription_module.Subscription:
    """The subscription built again as it was (a new process's start)."""
    return subscription_module.Subscription(
        name=first.name,
        topics=first.topics,
        db=first.db,
        kafka=first.kafka,
        handler=first.handler,
        dead_letter_topic=first.dead_letter_topic,
        trust=first.trust,
        on_commit=first.on_commit,
    )


async def _totals_are(pipeline: Pipeline, expected: dict[str, tuple[int, int]]) -> bool:
    return await pipeline.totals() == expected
