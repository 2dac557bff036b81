"""A broker that dies, or comes back with an empty log, loses no event and doubles no effect."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from sqlalchemy import func, select

from pmo_devstack.broker import start_broker
from pmo_devstack.polling import eventually
from pmo_events.runtime import KafkaSettings
from pmo_events.runtime.schema import outbox

from .support import migrated
from .test_relay_and_subscription import Pipeline, totals, view_metadata

pytestmark = pytest.mark.integration


async def test_commands_succeed_while_the_broker_is_down_and_an_empty_broker_is_refilled(
    sqlite_url: str, tmp_path: Path, topic_prefix: str
) -> None:
    broker = start_broker()
    producer_db = await migrated(sqlite_url, tmp_path)
    consumer_db = await migrated(f"sqlite+aiosqlite:///{tmp_path / 'consumer.db'}", tmp_path)
    async with consumer_db.engine.begin() as conn:
        await conn.run_sync(view_metadata.create_all)
    pipeline = Pipeline(
        producer_db,
        consumer_db,
        KafkaSettings(bootstrap_servers=broker.bootstrap_servers, request_timeout_ms=2000),
        topic_prefix,
        tmp_path,
    )
    await pipeline.start()
    counter = str(uuid.uuid4())
    try:
        await pipeline.increment(counter, 1)
        await eventually(lambda: _is(pipeline, {counter: (1, 1)}))

        broker.stop()  # memory-only: everything the broker held is gone
        for by in (2, 3):
            await pipeline.increment(counter, by)  # commands never wait for Kafka
        assert await _unpublished(pipeline) >= 2

        broker = start_broker(broker.port)  # a new, empty broker on the same address
        await eventually(lambda: _is(pipeline, {counter: (6, 3)}), timeout=40)
        assert pipeline.relay.status.republished >= 3
        await pipeline.increment(counter, 4)
        await eventually(lambda: _is(pipeline, {counter: (10, 4)}))
    finally:
        await pipeline.stop()
        broker.stop()
        await producer_db.dispose()
        await consumer_db.dispose()


async def _is(pipeline: Pipeline, expected: dict[str, tuple[int, int]]) -> bool:
    return await pipeline.totals() == expected


async def _unpublished(pipeline: Pipeline) -> int:
    async with pipeline.runtime.db.sessions() as session:
        query = select(func.count()).select_from(outbox).where(outbox.c.published_at.is_(None))
        return int((await session.execute(query)).scalar_one())


__all__ = ["totals"]
