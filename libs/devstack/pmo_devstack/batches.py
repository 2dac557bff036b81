"""Test support for a service's live path: its subscription over the real broker, on a topic of the test's own,
killed mid-poll or run to the end, and its database read back to compare one path with another."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaProducer
from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncSession

from pmo_devstack.testing import as_published, create_database, dev_settings, drop_database, migrated
from pmo_events.contracts.base import Event
from pmo_events.envelope import RecordedEvent
from pmo_events.runtime import KafkaSettings, Subscription
from pmo_events.runtime.kafka import ensure_topics
from pmo_events.runtime.schema import consumed_streams, consumer_offsets, events, outbox
from pmo_events.signing import PublicKeyDirectory
from pmo_events.trust import EventTrust
from pmo_servicekit.service import ServiceDefinition, ServiceRuntime


class Killed(BaseException):
    """The process dies mid-poll: nothing after the raise runs, nothing is committed (not an `Exception`, so
    no handler sets the poll aside as a failing one)."""


@asynccontextmanager
async def service_runtime(
    definition: ServiceDefinition, database_url: str, kafka_bootstrap: str, data_dir: Path
) -> AsyncIterator[ServiceRuntime]:
    """The service's runtime (store, commands, views) on a migrated database; nothing started."""
    await asyncio.to_thread(migrated, database_url, definition.migrations, definition.metadata)
    settings = dev_settings(definition, data_dir, database_url)
    runtime = ServiceRuntime(definition, settings, KafkaSettings(bootstrap_servers=kafka_bootstrap))
    try:
        yield runtime
    finally:
        await runtime.db.dispose()


@asynccontextmanager
async def another_database(database_url: str, admin_url: Callable[[], str], folder: Path) -> AsyncIterator[str]:
    """A second empty database of the same kind as `database_url` (a file beside it, or a new PostgreSQL one)."""
    if database_url.startswith("sqlite"):
        yield f"sqlite+aiosqlite:///{folder / f'{uuid.uuid4().hex[:8]}.db'}"
        return
    admin = admin_url()
    url = await create_database(admin)
    try:
        yield url
    finally:
        await drop_database(admin, url)


def subscription_of(
    runtime: ServiceRuntime, topic: str, *, one_at_a_time: bool = False, max_records: int = 2000
) -> Subscription:
    """The service's subscription as it runs in the product (its handlers, its trust), reading `topic`.
    `one_at_a_time`: its per-event handler only, each event in its own consumer span (the reference path)."""
    definition = runtime.definition
    assert definition.consumer is not None and definition.batch_consumer is not None
    return Subscription(
        name=definition.consumer_name,
        topics=[topic],
        db=runtime.db,
        kafka=runtime.kafka,
        handler=definition.consumer(runtime),
        dead_letter_topic=f"{topic.rsplit('.', 2)[0]}.{definition.name}.deadletter",
        trust=EventTrust(PublicKeyDirectory.load(runtime.settings.event_verify_keys_dir)),
        max_records=max_records,
        batch_handler=None if one_at_a_time else definition.batch_consumer(runtime),
        riding_lock=definition.consumer_riding_lock,
    )


class Feed:
    """Events of one producer (`source`, e.g. /pmo/portfolio), signed as it signs them, on the test's topic."""

    def __init__(self, kafka_bootstrap: str, topic: str, source: str, data_dir: Path) -> None:
        self.kafka = KafkaSettings(bootstrap_servers=kafka_bootstrap)
        self.topic = topic
        self.source = source
        self.data_dir = data_dir
        self.sequences: dict[str, int] = {}
        self.published: list[RecordedEvent] = []

    def event(self, stream_id: str, event: Event, actor: str = "olivia") -> RecordedEvent:
        self.sequences[stream_id] = self.sequences.get(stream_id, 0) + 1
        recorded = RecordedEvent(
            event_id=str(uuid.uuid4()),
            type=event.type_name(),
            source=self.source,
            stream_id=stream_id,
            sequence=self.sequences[stream_id],
            time=datetime.now(UTC),
            data=event.model_dump(mode="json"),
            actor=actor,
            correlation_id=str(uuid.uuid4()),
        )
        self.published.append(recorded)
        return recorded

    async def send(self) -> None:
        """Everything made with `event` so far, in order."""
        await ensure_topics(self.kafka, [self.topic])
        producer = AIOKafkaProducer(**self.kafka.client_kwargs())
        await producer.start()
        try:
            for recorded in self.published:
                key, value, headers = as_published(recorded, self.data_dir)
                await producer.send_and_wait(self.topic, value, key=key, headers=headers)
        finally:
            await producer.stop()


async def run_until_applied(subscription: Subscription, count: int, timeout: float = 60) -> None:
    """Run the subscription until it has applied (or skipped as duplicates) `count` events, then stop it."""
    task = asyncio.create_task(subscription.run())
    status = subscription.status
    try:
        async with asyncio.timeout(timeout):
            while status.applied + status.skipped_duplicates + status.dead_lettered < count:
                if task.done():
                    task.result()
                await asyncio.sleep(0.02)
    finally:
        await subscription.stop()
        await asyncio.wait_for(task, 30)


async def run_until_killed(subscription: Subscription, timeout: float = 60) -> None:
    """Run the subscription with its batch handler killed (`Killed`) right after it applied its first poll,
    before the poll's transaction commits."""
    handler = subscription.batch_handler
    assert handler is not None

    async def dies(session: AsyncSession, polled: Sequence[RecordedEvent]) -> None:
        await handler(session, polled)
        await session.flush()
        raise Killed(f"killed after applying {len(polled)} events, before the commit")

    subscription.batch_handler = dies
    try:
        async with asyncio.timeout(timeout):
            await subscription.run()
    except Killed:
        return
    finally:
        subscription.batch_handler = handler
    raise AssertionError("the subscription was never killed")


@dataclass(frozen=True)
class Restarted:
    """What `killed_then_restarted` saw: the read models and bookkeeping before the killed poll (which it
    checked the kill left as they were), and after the restart ran to the end."""

    before: Any
    kept_before: dict[str, Any]
    after: Any
    kept: dict[str, Any]


async def killed_then_restarted(
    runtime: ServiceRuntime,
    topic: str,
    published: int,
    read_models: Callable[[ServiceRuntime], Awaitable[Any]],
) -> Restarted:
    """The service's subscription killed after its first poll's handler ran, before the poll's commit: its read
    models (`read_models`) and bookkeeping (offsets, stream sequences, outbox) must be as they were. Then a new
    subscription runs until the `published` records on `topic` are applied: each exactly once (every partition
    read to its end, all applied, none dead-lettered)."""
    before, kept_before = await read_models(runtime), await bookkeeping_of(runtime)
    await run_until_killed(subscription_of(runtime, topic))
    assert await read_models(runtime) == before
    assert await bookkeeping_of(runtime) == kept_before

    restarted = subscription_of(runtime, topic)
    await run_until_applied(restarted, published)
    after, kept = await read_models(runtime), await bookkeeping_of(runtime)
    assert sum(next_offset for _, next_offset in kept["offsets"]) == published  # every partition to its end
    assert restarted.status.applied == published and restarted.status.dead_lettered == 0
    return Restarted(before, kept_before, after, kept)


async def rows_of(runtime: ServiceRuntime, table: Table, *, leave_out: Sequence[str] = ()) -> list[dict[str, Any]]:
    """A table's rows in key order, without the columns named (times of writing, positions)."""
    async with runtime.db.sessions() as session:
        result = await session.execute(select(table).order_by(*table.primary_key.columns))
        return [{k: v for k, v in row.items() if k not in leave_out} for row in result.mappings()]


async def recorded_of(runtime: ServiceRuntime) -> list[tuple[Any, ...]]:
    """What the service's commands recorded, by stream and version (ids and times are new on every run)."""
    query = select(
        events.c.stream_id, events.c.version, events.c.type, events.c.data, events.c.actor,
        events.c.correlation_id, events.c.causation_id,
    ).order_by(events.c.stream_id, events.c.version)  # fmt: skip
    async with runtime.db.sessions() as session:
        return [tuple(row) for row in await session.execute(query)]


async def bookkeeping_of(runtime: ServiceRuntime) -> dict[str, Any]:
    """The subscription's offsets and stream sequences, and how many records wait in the outbox."""
    async with runtime.db.sessions() as session:
        offsets = [
            tuple(r) for r in await session.execute(select(consumer_offsets.c.topic, consumer_offsets.c.next_offset))
        ]
        streams = [
            tuple(r)
            for r in await session.execute(select(consumed_streams).order_by(*consumed_streams.primary_key.columns))
        ]
        queued = len((await session.execute(select(outbox.c.id))).all())
    return {"offsets": sorted(offsets), "streams": streams, "outbox": queued}
