"""The relay's own retry loop carries it over a broker that dies while it publishes (sends in flight) and comes back:
its `run()` never ends (no supervisor here to restart it), and everything written meanwhile is published, on
SQLite and PostgreSQL with the real embedded Tansu (`test_broker_loss` does it on SQLite with no send in flight).

Session 15's review R2 asked for de55c20's guard (a cancel raised inside aiokafka's producer stop) with a real
broker. This test does not reach it: in its runs (s15-fix, 08:31 UTC, 8 stops) every producer stop returned
normally, and it passes on the relay before de55c20 too (3 runs of both backends). It pins the outcome, whichever
path the stop takes; the guard itself and the client closed after it are pinned by `test_relay_retry_survives.py`."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from pathlib import Path

import pytest

from pmo_devstack.broker import start_broker
from pmo_devstack.polling import eventually
from pmo_events.runtime import KafkaSettings

from .support import migrated
from .test_relay_and_subscription import Pipeline, view_metadata

pytestmark = pytest.mark.integration


async def test_the_relay_publishes_again_after_the_broker_dies_mid_send_and_returns(
    database_url: str, tmp_path: Path, topic_prefix: str
) -> None:
    broker = start_broker()
    producer_db = await migrated(database_url, tmp_path)
    consumer_db = await migrated(f"sqlite+aiosqlite:///{tmp_path / 'consumer.db'}", tmp_path)
    async with consumer_db.engine.begin() as conn:
        await conn.run_sync(view_metadata.create_all)
    kafka = KafkaSettings(bootstrap_servers=broker.bootstrap_servers, request_timeout_ms=2000)
    pipeline = Pipeline(producer_db, consumer_db, kafka, topic_prefix, tmp_path)
    await pipeline.start()
    relay = pipeline.tasks[0]
    counter = str(uuid.uuid4())
    written = 0

    async def keep_writing() -> None:  # the relay always has sends in flight
        nonlocal written
        while True:
            await pipeline.increment(counter, 1)
            written += 1
            await asyncio.sleep(0.005)

    try:
        await pipeline.increment(counter, 1)
        written += 1
        await eventually(lambda: _published_all(pipeline, counter, written))
        writing = asyncio.create_task(keep_writing())
        await asyncio.sleep(0.5)
        broker.stop()  # mid-send
        await asyncio.sleep(3)  # the relay fails, stops its producer, retries against nothing
        assert not relay.done(), relay
        broker = start_broker(broker.port)  # back, empty, on the same address
        await asyncio.sleep(1)
        writing.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await writing
        await eventually(lambda: _published_all(pipeline, counter, written), timeout=60)
        assert not relay.done(), relay  # its own loop, never restarted
    finally:
        await pipeline.stop()
        broker.stop()
        await producer_db.dispose()
        await consumer_db.dispose()


async def _published_all(pipeline: Pipeline, counter: str, written: int) -> bool:
    return (await pipeline.totals()).get(counter) == (written, written)
