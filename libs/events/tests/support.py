"""Test contracts and helpers for the runtime tests (a tiny counter aggregate)."""

from __future__ import annotations

import asyncio
import atexit
import shutil
import tempfile
from pathlib import Path

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from pydantic import BaseModel

from pmo_devstack.testing import migrated as testing_migrated
from pmo_events.contracts.base import Event, contract
from pmo_events.runtime import AggregateType, Database
from pmo_events.runtime.relay import OutboxRelay, RelayThread
from pmo_events.runtime.schema import metadata


@contract
class Incremented(Event):
    service = "test"
    event_name = "Incremented"
    counter_id: str
    by: int


class Counter(BaseModel):
    counter_id: str
    total: int = 0


def evolve(state: Counter, event: Event) -> Counter:
    if isinstance(event, Incremented):
        return state.model_copy(update={"total": state.total + event.by})
    return state


COUNTER = AggregateType("counter", lambda i: Counter(counter_id=i), evolve, Counter, snapshot_every=5)


#: The runtime branch alone: a service's version folder without a migration (one per process, so a fresh
#: database is a copy of one migrated once: `pmo_devstack.testing.migrated`).
NO_SERVICE_VERSIONS = Path(tempfile.mkdtemp(prefix="no-service-versions-"))
atexit.register(shutil.rmtree, NO_SERVICE_VERSIONS, True)


async def migrated(url: str, tmp: Path) -> Database:
    """A Database on `url` with the runtime's tables (`tmp`: the test's folder; unused, kept for callers)."""
    await asyncio.to_thread(testing_migrated, url, NO_SERVICE_VERSIONS, metadata)
    return Database(url)


async def pending_is(relay: OutboxRelay | RelayThread, expected: int) -> bool:
    """For `eventually`: the relay's outbox holds `expected` unpublished rows."""
    return await relay.pending() == expected


async def published(bootstrap: str, topic: str) -> list[ConsumerRecord]:
    """Every record on `topic`, partition by partition, from the beginning (read until the broker has no more)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or {0}]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        found: list[ConsumerRecord] = []
        while got := await consumer.getmany(timeout_ms=1500):
            for records in got.values():
                found.extend(records)
        return found
    finally:
        await consumer.stop()
