"""Outbox relay and tracked subscriptions against a real broker and real databases."""

from __future__ import annotations

import asyncio
import gc
import uuid
from collections.abc import Awaitable
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from sqlalchemy import Column, Integer, MetaData, String, Table, select

from pmo_devstack.keys import event_keys_dir, event_signer
from pmo_devstack.polling import eventually
from pmo_events.envelope import RecordedEvent
from pmo_events.runtime import (
    CommandRuntime,
    Database,
    EventStore,
    KafkaSettings,
    Metadata,
    OutboxRelay,
    Subscription,
)
from pmo_events.signing import PublicKeyDirectory
from pmo_events.trust import EventTrust

from .support import COUNTER, Incremented, migrated

pytestmark = pytest.mark.integration

view_metadata = MetaData()
totals = Table(
    "test_totals",
    view_metadata,
    Column("counter_id", String(64), primary_key=True),
    Column("total", Integer, nullable=False),
    Column("applied", Integer, nullable=False),
)


async def add_to_total(session, event: RecordedEvent) -> None:
    decoded = event.decode()
    assert isinstance(decoded, Incremented)
    if decoded.by < 0:
        raise ValueError("a negative increment is a poison event")
    row = (await session.execute(select(totals).where(totals.c.counter_id == decoded.counter_id))).first()
    if row is None:
        await session.execute(totals.insert().values(counter_id=decoded.counter_id, total=decoded.by, applied=1))
    else:
        await session.execute(
            totals.update()
            .where(totals.c.counter_id == decoded.counter_id)
            .values(total=row.total + decoded.by, applied=row.applied + 1)
        )


class Pipeline:
    """A producing service (store + relay, signing as "test") and a consuming one (subscription + view)."""

    def __init__(self, producer_db: Database, consumer_db: Database, kafka: KafkaSettings, prefix: str, keys: Path):
        self.topic = f"{prefix}.test.events"  # owned by the "test" service
        self.dlq = f"{prefix}.deadletter"
        self.signer = event_signer(keys, "test")
        self.trust = EventTrust(PublicKeyDirectory.load(event_keys_dir(keys) / "public"))
        self.relay = OutboxRelay(
            producer_db, kafka, service="test", topic=self.topic, poll_interval=0.2, signer=self.signer
        )
        self.runtime = CommandRuntime(
            producer_db, EventStore(source="/pmo/test", topic=self.topic, signer=self.signer), on_commit=self.relay.wake
        )
        # The consuming service's own relay publishes its outbox: here, its dead letters.
        self.consumer_relay = OutboxRelay(consumer_db, kafka, service="test-consumer", topic=None)
        self.subscription = Subscription(
            name=f"{prefix}-consumer",
            topics=[self.topic],
            db=consumer_db,
            kafka=kafka,
            handler=add_to_total,
            dead_letter_topic=self.dlq,
            trust=self.trust,
            on_commit=self.consumer_relay.wake,
        )
        self.consumer_db = consumer_db
        self.tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        self.tasks = [
            asyncio.create_task(self.relay.run()),
            asyncio.create_task(self.subscription.run()),
            asyncio.create_task(self.consumer_relay.run()),
        ]

    async def stop(self) -> None:
        await self.relay.stop(flush_timeout=2)
        await self.subscription.stop()
        await self.consumer_relay.stop(flush_timeout=2)
        await asyncio.wait_for(asyncio.gather(*self.tasks, return_exceptions=True), 15)

    async def increment(self, counter: str, by: int) -> None:
        async with self.runtime.unit_of_work(Metadata(actor="tester")) as uow:
            loaded = await uow.load(COUNTER, counter)
            await uow.append(COUNTER, counter, loaded.version, [Incremented(counter_id=counter, by=by)])

    async def totals(self) -> dict[str, tuple[int, int]]:
        async with self.consumer_db.sessions() as session:
            return {r.counter_id: (r.total, r.applied) for r in await session.execute(select(totals))}


@pytest.fixture
async def pipeline(database_url: str, tmp_path: Path, kafka_bootstrap: str, topic_prefix: str):
    producer_db = await migrated(database_url, tmp_path)
    consumer_db = await migrated(f"sqlite+aiosqlite:///{tmp_path / 'consumer.db'}", tmp_path)
    async with consumer_db.engine.begin() as conn:
        await conn.run_sync(view_metadata.create_all)
    kafka = KafkaSettings(bootstrap_servers=kafka_bootstrap)
    p = Pipeline(producer_db, consumer_db, kafka, topic_prefix, tmp_path)
    await p.start()
    yield p
    await p.stop()
    await producer_db.dispose()
    await consumer_db.dispose()


async def test_every_event_is_applied_exactly_once_in_order(pipeline: Pipeline) -> None:
    counters = [str(uuid.uuid4()) for _ in range(5)]
    for round_ in range(1, 5):
        for counter in counters:
            await pipeline.increment(counter, round_)
    expected = {c: (10, 4) for c in counters}
    await eventually(lambda: _equals(pipeline.totals(), expected))
    assert await pipeline.relay.pending() == 0


async def test_an_idle_subscription_keeps_no_record_of_its_last_poll(pipeline: Pipeline) -> None:
    """Once a poll is applied its records go (issue 17, memory): an idle subscription used to keep the last
    poll's records and events (~2,000 of them after a catch-up) until the next poll replaced them."""
    counter = str(uuid.uuid4())
    for by in (1, 2, 3):
        await pipeline.increment(counter, by)
    await eventually(lambda: _equals(pipeline.totals(), {counter: (6, 3)}))

    def no_record_alive() -> bool:
        gc.collect()
        return not [o for o in gc.get_objects() if isinstance(o, ConsumerRecord) and o.topic == pipeline.topic]

    await eventually(no_record_alive, "no consumed record alive", timeout=10)


async def test_restarted_consumer_resumes_from_offsets_in_its_database(pipeline: Pipeline) -> None:
    counter = str(uuid.uuid4())
    await pipeline.increment(counter, 1)
    await eventually(lambda: _equals(pipeline.totals(), {counter: (1, 1)}))
    await pipeline.subscription.stop()
    await pipeline.tasks[1]
    await pipeline.increment(counter, 2)
    pipeline.subscription = Subscription(
        name=pipeline.subscription.name,
        topics=[pipeline.topic],
        db=pipeline.consumer_db,
        kafka=pipeline.subscription.kafka,
        handler=add_to_total,
        dead_letter_topic=pipeline.dlq,
        trust=pipeline.trust,
    )
    pipeline.tasks[1] = asyncio.create_task(pipeline.subscription.run())
    await eventually(lambda: _equals(pipeline.totals(), {counter: (3, 2)}))


async def test_duplicates_from_a_second_publish_change_nothing(pipeline: Pipeline) -> None:
    counter = str(uuid.uuid4())
    for by in (1, 2, 3):
        await pipeline.increment(counter, by)
    await eventually(lambda: _equals(pipeline.totals(), {counter: (6, 3)}))
    # The relay crashed after publishing but before marking: everything goes out again (the store's events back in
    # the outbox, as they would have stayed there).
    from pmo_events.runtime.relay import requeue_store

    async with pipeline.runtime.db.transaction() as session:
        await requeue_store(session, service="test", topic=pipeline.topic, signer=pipeline.signer)
    pipeline.relay.wake()
    await eventually(lambda: _pending_is_zero(pipeline))
    await pipeline.increment(counter, 4)
    await eventually(lambda: _equals(pipeline.totals(), {counter: (10, 4)}))
    assert pipeline.subscription.status.skipped_duplicates >= 3


async def test_what_the_broker_has_leaves_the_outbox_and_every_event_stays_in_the_store(
    pipeline: Pipeline, kafka_bootstrap: str
) -> None:
    """A record the broker acknowledged is deleted from the outbox, deferred marks too (session 11: setting
    `published_at` wrote each row again): the outbox holds only what is unsent, the store keeps every event,
    and the broker has each event once, in its stream's order."""
    from sqlalchemy import func

    from pmo_events.runtime.schema import events, outbox

    from .support import published

    counters = [str(uuid.uuid4()) for _ in range(4)]

    async def increments(counter: str) -> None:
        for _ in range(10):
            await pipeline.increment(counter, 1)

    await asyncio.gather(*(increments(c) for c in counters))  # concurrent commits: rounds defer their marks
    await eventually(lambda: _equals(pipeline.totals(), {c: (10, 10) for c in counters}))

    async def outbox_rows() -> int:
        async with pipeline.runtime.db.sessions() as session:
            return int((await session.execute(select(func.count()).select_from(outbox))).scalar_one())

    await eventually(lambda: _zero(outbox_rows()))
    async with pipeline.runtime.db.sessions() as session:
        assert (await session.execute(select(func.count()).select_from(events))).scalar_one() == 40
    sequences: dict[str, list[int]] = {}
    for record in await published(kafka_bootstrap, pipeline.topic):
        headers = dict(record.headers)
        sequences.setdefault(headers["ce_subject"].decode(), []).append(int(headers["ce_sequence"]))
    assert sequences == {c: list(range(1, 11)) for c in counters}


async def _zero(count: Awaitable[int]) -> bool:
    return await count == 0


async def test_poison_event_goes_to_dead_letter_and_the_rest_goes_on(pipeline: Pipeline, kafka_bootstrap: str) -> None:
    good, bad = str(uuid.uuid4()), str(uuid.uuid4())
    await pipeline.increment(bad, -1)
    await pipeline.increment(good, 5)
    raw = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await raw.start()
    await raw.send_and_wait(pipeline.topic, b"not a cloud event", key=b"x")
    await raw.stop()
    await pipeline.increment(good, 1)
    await eventually(lambda: _equals(pipeline.totals(), {good: (6, 2)}))
    await eventually(lambda: pipeline.subscription.status.dead_lettered == 2)
    dead = await _read_all(kafka_bootstrap, pipeline.dlq, expected=2)
    errors = sorted(dict(m.headers)["pmo_dlq_error"].decode() for m in dead)
    assert any("negative increment" in e for e in errors)
    assert any("malformed envelope" in e for e in errors)
    reasons = sorted(dict(m.headers)["pmo_dlq_reason"].decode() for m in dead)
    assert reasons == ["apply_failed", "malformed_envelope"]
    dead_letters = {reason: n for reason, n in pipeline.subscription.status.dead_letters.items() if n}
    assert dead_letters == {"apply_failed": 1, "malformed_envelope": 1}


async def _read_all(bootstrap: str, topic: str, expected: int) -> list[ConsumerRecord[bytes, bytes]]:
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False, fetch_max_wait_ms=5
    )
    await consumer.start()
    found: list[ConsumerRecord[bytes, bytes]] = []
    try:
        deadline = asyncio.get_running_loop().time() + 20
        while len(found) < expected and asyncio.get_running_loop().time() < deadline:
            for records in (await consumer.getmany(timeout_ms=200)).values():
                found.extend(records)
    finally:
        await consumer.stop()
    return found


async def _equals(coro, expected) -> bool:
    return await coro == expected


async def _pending_is_zero(pipeline: Pipeline) -> bool:
    return await pipeline.relay.pending() == 0


async def test_republishing_the_whole_store_doubles_nothing(pipeline: Pipeline) -> None:
    from pmo_events.runtime.relay import requeue_store

    counter = str(uuid.uuid4())
    for by in (1, 2, 3):
        await pipeline.increment(counter, by)
    await eventually(lambda: _equals(pipeline.totals(), {counter: (6, 3)}))
    async with pipeline.runtime.db.transaction() as session:
        queued = await requeue_store(session, service="test", topic=pipeline.topic, signer=pipeline.signer)
    assert queued == 3
    pipeline.relay.wake()
    await eventually(lambda: _pending_is_zero(pipeline))
    await pipeline.increment(counter, 4)
    await eventually(lambda: _equals(pipeline.totals(), {counter: (10, 4)}))
    assert pipeline.subscription.status.skipped_duplicates >= 3


@pytest.fixture
async def stopped_pipeline(database_url: str, tmp_path: Path, kafka_bootstrap: str, topic_prefix: str):
    """The consumer on every backend (the batch's savepoint is the consumer's), its subscription not started."""
    producer_db = await migrated(f"sqlite+aiosqlite:///{tmp_path / 'producer.db'}", tmp_path)
    consumer_db = await migrated(database_url, tmp_path)
    async with consumer_db.engine.begin() as conn:
        await conn.run_sync(view_metadata.create_all)
    p = Pipeline(producer_db, consumer_db, KafkaSettings(bootstrap_servers=kafka_bootstrap), topic_prefix, tmp_path)
    p.tasks = [asyncio.create_task(p.relay.run()), asyncio.create_task(p.consumer_relay.run())]
    yield p
    await p.relay.stop(flush_timeout=2)
    await p.subscription.stop()
    await p.consumer_relay.stop(flush_timeout=2)
    await asyncio.wait_for(asyncio.gather(*p.tasks, return_exceptions=True), 15)
    await producer_db.dispose()
    await consumer_db.dispose()


async def test_a_poison_event_inside_a_batch_goes_to_dead_letter_alone_and_the_batch_applies(
    stopped_pipeline: Pipeline, kafka_bootstrap: str
) -> None:
    pipeline = stopped_pipeline
    counters = [str(uuid.uuid4()) for _ in range(5)]
    bad = str(uuid.uuid4())
    for round_ in (1, 2, 3):
        for counter in counters:
            await pipeline.increment(counter, round_)
    await pipeline.increment(bad, 2)
    await pipeline.increment(bad, -1)  # poison: the handler refuses it
    await pipeline.increment(bad, 3)  # its stream's next event waits for the genuine sequence 2
    for counter in counters:
        await pipeline.increment(counter, 4)
    await eventually(lambda: _pending_is_zero(pipeline))
    # Everything is on the broker before the subscription starts: its first poll holds the poison mid-batch.
    pipeline.tasks.append(asyncio.create_task(pipeline.subscription.run()))
    expected = {counter: (10, 4) for counter in counters} | {bad: (2, 1)}
    await eventually(lambda: _equals(pipeline.totals(), expected))
    status = pipeline.subscription.status
    await eventually(lambda: status.dead_lettered == 1)
    assert status.batches_split >= 1
    assert status.applied == 21
    assert {reason: n for reason, n in status.dead_letters.items() if n} == {"apply_failed": 1}
    assert status.out_of_order >= 1
    dead = await _read_all(kafka_bootstrap, pipeline.dlq, expected=1)
    assert len(dead) == 1
    assert "negative increment" in dict(dead[0].headers)["pmo_dlq_error"].decode()


async def test_a_batch_without_poison_is_applied_in_one_piece(stopped_pipeline: Pipeline) -> None:
    pipeline = stopped_pipeline
    counters = [str(uuid.uuid4()) for _ in range(10)]
    for round_ in (1, 2, 3, 4):
        for counter in counters:
            await pipeline.increment(counter, round_)
    await eventually(lambda: _pending_is_zero(pipeline))
    pipeline.tasks.append(asyncio.create_task(pipeline.subscription.run()))
    await eventually(lambda: _equals(pipeline.totals(), {counter: (10, 4) for counter in counters}))
    assert pipeline.subscription.status.batches_split == 0
    assert pipeline.subscription.status.dead_lettered == 0


async def test_a_commit_on_another_connection_wakes_the_relay_holding_the_lock(
    postgres_url: str, tmp_path: Path, kafka_bootstrap: str, topic_prefix: str
) -> None:
    """Two processes of one service (two HTTP workers) share its database: only one relay holds the lock.
    A command committed by the other one is announced with a NOTIFY and published at once, not at the
    lock holder's next poll (30 s here, so without the wake-up this test times out)."""
    kafka = KafkaSettings(bootstrap_servers=kafka_bootstrap)
    topic = f"{topic_prefix}.test.events"
    holder_db = await migrated(postgres_url, tmp_path)
    other_db = Database(postgres_url)  # its own engine: its own connections, as another process would have
    holder = OutboxRelay(holder_db, kafka, service="test", topic=topic, poll_interval=30.0)
    other = OutboxRelay(other_db, kafka, service="test", topic=topic, poll_interval=30.0)
    store = EventStore(source="/pmo/test", topic=topic)
    runtime = CommandRuntime(other_db, store, on_commit=other.wake)
    task = asyncio.create_task(holder.run())
    try:
        await eventually(lambda: holder.status.active and holder.status.connected)
        await asyncio.sleep(0.3)  # its first read found nothing: it now waits for a wake-up or its poll
        assert not other.status.active  # never started: the lock is the holder's
        counter = str(uuid.uuid4())
        started = asyncio.get_running_loop().time()
        async with runtime.unit_of_work(Metadata(actor="tester")) as uow:
            await uow.append(COUNTER, counter, 0, [Incremented(counter_id=counter, by=1)])
        await eventually(lambda: holder.status.published == 1, timeout=5.0)
        assert asyncio.get_running_loop().time() - started < 5.0
        assert await holder.pending() == 0
    finally:
        await holder.stop(flush_timeout=2)
        await asyncio.wait_for(task, 15)
        await holder_db.dispose()
        await other_db.dispose()


async def test_a_burst_of_commits_in_a_process_without_the_lock_sends_few_notifies(
    postgres_url: str, tmp_path: Path, kafka_bootstrap: str, topic_prefix: str
) -> None:
    """One NOTIFY at a time per process: the commits made while one is on its way are covered by one more,
    not by one each (each would take a pooled connection from the commands)."""
    import asyncpg

    kafka = KafkaSettings(bootstrap_servers=kafka_bootstrap)
    db = await migrated(postgres_url, tmp_path)
    relay = OutboxRelay(db, kafka, service="test", topic=f"{topic_prefix}.test.events", poll_interval=30.0)
    heard: list[str] = []
    listener = await asyncpg.connect(postgres_url.replace("postgresql+asyncpg", "postgresql"))
    try:
        await listener.add_listener(relay.channel, lambda *args: heard.append(args[2]))
        for _ in range(50):  # 50 commits in a burst, as the commands of a busy worker would call it, the
            relay.wake()  # loop running other tasks between them (an announcement already on its way)
            await asyncio.sleep(0)
        await eventually(lambda: bool(heard))
        await asyncio.sleep(0.5)
        assert 1 <= len(heard) <= 2, len(heard)
        relay.wake()  # a later commit is announced again
        await eventually(lambda: len(heard) >= 2)
    finally:
        await relay.stop(flush_timeout=1)
        await listener.close()
        await db.dispose()


async def test_the_next_poll_is_checked_in_the_checker_thread_while_one_applies(
    stopped_pipeline: Pipeline, kafka_bootstrap: str
) -> None:
    """A catch-up in polls of 4: the polls the consumer already holds are read and their signatures checked
    in the checker thread; a tampered record among them still goes to the dead-letter topic alone (counted
    once), and every genuine event applies once, in order."""
    import threading
    from datetime import UTC, datetime

    from pmo_events.runtime.store import kafka_record

    pipeline = stopped_pipeline
    subscription = pipeline.subscription
    subscription.max_records = 4
    counters = [str(uuid.uuid4()) for _ in range(5)]
    for round_ in (1, 2):
        for counter in counters:
            await pipeline.increment(counter, round_)
    await eventually(lambda: _pending_is_zero(pipeline))
    forged_id = str(uuid.uuid4())
    genuine = kafka_record(
        RecordedEvent(
            event_id=str(uuid.uuid4()),
            type=Incremented.type_name(),
            source="/pmo/test",
            stream_id=forged_id,
            sequence=1,
            time=datetime.now(UTC),
            data={"counter_id": forged_id, "by": 1},
        ),
        pipeline.signer,
    )
    tampered = genuine.value.replace(b'"by":1', b'"by":100')
    assert tampered != genuine.value
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await producer.start()
    try:
        headers = [(name, value) for name, value in genuine.headers.items()]
        await producer.send_and_wait(pipeline.topic, tampered, key=genuine.key.encode(), headers=headers)
    finally:
        await producer.stop()
    for round_ in (3, 4):
        for counter in counters:
            await pipeline.increment(counter, round_)
    await eventually(lambda: _pending_is_zero(pipeline))

    threads: list[str] = []
    check = subscription._check

    def spied(batch):
        threads.append(threading.current_thread().name)
        return check(batch)

    subscription._check = spied  # type: ignore[method-assign]
    pipeline.tasks.append(asyncio.create_task(subscription.run()))
    await eventually(lambda: _equals(pipeline.totals(), {counter: (10, 4) for counter in counters}))
    status = subscription.status
    await eventually(lambda: status.dead_lettered == 1)
    assert status.applied == 20
    assert status.rejected == 1
    assert {reason: n for reason, n in status.dead_letters.items() if n} == {"bad_signature": 1}
    assert any(name.endswith("-check_0") for name in threads), threads
    dead = await _read_all(kafka_bootstrap, pipeline.dlq, expected=1)
    assert [record.value for record in dead] == [tampered]


async def test_the_relay_reads_and_marks_a_batch_on_one_pooled_connection(
    postgres_url: str, tmp_path: Path, kafka_bootstrap: str, topic_prefix: str
) -> None:
    """On PostgreSQL a batch is read, sent and marked holding ONE pooled connection (a checkout and a
    check-in per batch, not two), each statement on its own (autocommit): every event is still marked."""
    from collections.abc import AsyncIterator
    from contextlib import asynccontextmanager
    from typing import Any

    kafka = KafkaSettings(bootstrap_servers=kafka_bootstrap)
    topic = f"{topic_prefix}.test.events"
    db = await migrated(postgres_url, tmp_path)
    relay = OutboxRelay(db, kafka, service="test", topic=topic, poll_interval=30.0)
    statements_per_checkout: list[list[str]] = []
    lend = db.driver_connection

    class Counted:
        def __init__(self, connection: object, seen: list[str]) -> None:
            self.connection, self.seen = connection, seen

        def __getattr__(self, name: str) -> object:
            self.seen.append(name)
            return getattr(self.connection, name)

    @asynccontextmanager
    async def counted() -> AsyncIterator[Any]:
        seen: list[str] = []
        statements_per_checkout.append(seen)
        async with lend() as connection:
            yield Counted(connection, seen)

    db.driver_connection = counted  # type: ignore[method-assign]
    runtime = CommandRuntime(db, EventStore(source="/pmo/test", topic=topic), on_commit=relay.wake)
    task = asyncio.create_task(relay.run())
    try:
        await eventually(lambda: relay.status.active and relay.status.connected)
        counter = str(uuid.uuid4())
        async with runtime.unit_of_work(Metadata(actor="tester")) as uow:
            await uow.append(COUNTER, counter, 0, [Incremented(counter_id=counter, by=b) for b in (1, 2, 3)])
        await eventually(lambda: relay.status.published == 3, timeout=10.0)
        assert await relay.pending() == 0
        assert ["fetch", "execute"] in statements_per_checkout  # read and mark on one checkout
        assert all(seen in (["fetch"], ["fetch", "execute"]) for seen in statements_per_checkout), (
            statements_per_checkout
        )
    finally:
        await relay.stop(flush_timeout=2)
        await asyncio.wait_for(task, 15)
        await db.dispose()


async def test_a_mark_deferred_to_the_next_read_is_made_by_it_or_at_the_stop(
    postgres_url: str, tmp_path: Path, kafka_bootstrap: str, topic_prefix: str
) -> None:
    """When commits arrived while a batch was being sent (the relay was woken again), its mark rides on the
    next read, one statement instead of two; that read leaves the just-sent rows out. A relay that stops
    before reading again marks them on its way out."""
    kafka = KafkaSettings(bootstrap_servers=kafka_bootstrap)
    topic = f"{topic_prefix}.test.events"
    db = await migrated(postgres_url, tmp_path)
    relay = OutboxRelay(db, kafka, service="test", topic=topic)
    runtime = CommandRuntime(db, EventStore(source="/pmo/test", topic=topic))

    async def commit(n: int) -> None:
        counter = str(uuid.uuid4())
        async with runtime.unit_of_work(Metadata(actor="tester")) as uow:
            await uow.append(COUNTER, counter, 0, [Incremented(counter_id=counter, by=b) for b in range(1, n + 1)])

    try:
        await relay._connect()
        await commit(2)
        relay.wake()  # another commit's wake-up arrived during the send
        assert await relay._publish_batch() == 2
        assert relay._unmarked is not None and await relay.pending() == 2  # sent, mark deferred
        await commit(1)
        relay._wake.clear()  # as the loop does before each round
        assert await relay._publish_batch() == 1  # read the new one (not the two sent), marked those
        assert relay._unmarked is None and await relay.pending() == 0
        await commit(3)
        relay.wake()
        assert await relay._publish_batch() == 3 and await relay.pending() == 3
        await relay._mark_unmarked()  # what the relay does when it stops
        assert await relay.pending() == 0
        assert relay.status.published == 6
        records = await _read_all(kafka_bootstrap, topic, 6)
        assert len(records) == 6 and len({dict(r.headers)["ce_id"] for r in records}) == 6  # each event sent once
    finally:
        await relay._close_producer()
        await db.dispose()


async def test_a_poll_split_after_a_failure_counts_its_forgery_once(
    stopped_pipeline: Pipeline, kafka_bootstrap: str
) -> None:
    """One poll holding a tampered record and a poison event: the together attempt's transaction is rolled back
    and the poll applied again event by event in a new one; the forgery is counted once, both records go to the
    dead-letter topic, and every genuine event applies once."""
    from datetime import UTC, datetime

    from pmo_events.runtime.store import kafka_record

    pipeline = stopped_pipeline
    counters = [str(uuid.uuid4()) for _ in range(3)]
    for counter in counters:
        await pipeline.increment(counter, 1)
    forged_id = str(uuid.uuid4())
    genuine = kafka_record(
        RecordedEvent(
            event_id=str(uuid.uuid4()),
            type=Incremented.type_name(),
            source="/pmo/test",
            stream_id=forged_id,
            sequence=1,
            time=datetime.now(UTC),
            data={"counter_id": forged_id, "by": 1},
        ),
        pipeline.signer,
    )
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await producer.start()
    try:
        headers = [(name, value) for name, value in genuine.headers.items()]
        tampered = genuine.value.replace(b'"by":1', b'"by":100')
        await producer.send_and_wait(pipeline.topic, tampered, key=genuine.key.encode(), headers=headers)
    finally:
        await producer.stop()
    bad = str(uuid.uuid4())
    await pipeline.increment(bad, -1)  # poison: the handler refuses it
    for counter in counters:
        await pipeline.increment(counter, 2)
    await eventually(lambda: _pending_is_zero(pipeline))
    pipeline.tasks.append(asyncio.create_task(pipeline.subscription.run()))
    await eventually(lambda: _equals(pipeline.totals(), {counter: (3, 2) for counter in counters}))
    status = pipeline.subscription.status
    await eventually(lambda: status.dead_lettered == 2)
    assert status.batches_split >= 1
    assert status.rejected == 1
    assert status.applied == 6
    assert {reason: n for reason, n in status.dead_letters.items() if n} == {"bad_signature": 1, "apply_failed": 1}
    assert len(await _read_all(kafka_bootstrap, pipeline.dlq, expected=2)) == 2


async def test_a_consumer_publishing_nothing_wakes_its_relay_only_for_dead_letters(
    stopped_pipeline: Pipeline, kafka_bootstrap: str
) -> None:
    """`handler_publishes=False` (reporting: no events of its own): a poll that wrote nothing to the outbox does
    not wake the relay (an outbox read per poll on the same loop and database); one that dead-lettered does."""
    pipeline = stopped_pipeline
    subscription = pipeline.subscription
    subscription.handler_publishes = False
    wakes: list[int] = []

    def wake() -> None:
        wakes.append(subscription.status.dead_lettered)
        pipeline.consumer_relay.wake()

    subscription.on_commit = wake
    counter = str(uuid.uuid4())
    for by in (1, 2, 3):
        await pipeline.increment(counter, by)
    pipeline.tasks.append(asyncio.create_task(subscription.run()))
    await eventually(lambda: _equals(pipeline.totals(), {counter: (6, 3)}))
    assert wakes == []
    await pipeline.increment(str(uuid.uuid4()), -1)  # poison: dead-lettered through the outbox
    await eventually(lambda: wakes == [1])  # called once the dead letter's poll has committed
    assert len(await _read_all(kafka_bootstrap, pipeline.dlq, expected=1)) == 1


async def test_a_poll_with_nothing_checked_ahead_applies_its_first_chunk_while_the_rest_is_checked(
    stopped_pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A catch-up's first poll (nothing checked ahead) is checked in chunks of growing size: its first chunk
    applies once checked, in its own transaction with its offsets, while the rest is checked; what is checked
    by then goes together. Every event applies once, in order (before, the whole poll was checked first).
    The records carry no relay batch headers here: a chunk would end after the batch it cuts (all 40 records
    are one batch; test_batch_signatures.py)."""
    import time

    from pmo_events.runtime import relay

    monkeypatch.setattr(relay, "sign_batches", lambda signer, records: None)
    pipeline = stopped_pipeline
    subscription = pipeline.subscription
    subscription.first_chunk = 4
    counter = str(uuid.uuid4())  # one stream: one partition, so the first fetch holds all 40 records
    async with pipeline.runtime.unit_of_work(Metadata(actor="tester")) as uow:
        await uow.append(COUNTER, counter, 0, [Incremented(counter_id=counter, by=by) for by in range(1, 41)])
    await eventually(lambda: _pending_is_zero(pipeline))
    check, apply = subscription._check, subscription._apply_batch
    checked_sizes: list[int] = []
    applied_sizes: list[int] = []

    def slow(batch):
        time.sleep(0.2)  # in the checker thread: the loop is free meanwhile
        checked_sizes.append(sum(map(len, batch.values())))
        return check(batch)

    async def noted(batch, checked):
        applied_sizes.append(sum(map(len, batch.values())))
        await apply(batch, checked)

    subscription._check = slow  # type: ignore[method-assign]
    subscription._apply_batch = noted  # type: ignore[method-assign]
    pipeline.tasks.append(asyncio.create_task(subscription.run()))
    await eventually(lambda: _equals(pipeline.totals(), {counter: (820, 40)}))
    status = subscription.status
    assert status.applied == 40 and status.dead_lettered == 0 and status.skipped_duplicates == 0
    assert checked_sizes == [4, 8, 16, 12], checked_sizes
    assert applied_sizes[0] == 4 and sum(applied_sizes) == 40, applied_sizes


async def test_a_fresh_subscription_seeks_every_partition_to_its_start_in_one_reset(
    stopped_pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Partitions with no stored offset are reset to their start together (one ListOffsets round trip, not one
    per partition: 0.8 s of reporting's start on a busy machine), and every event still applies once."""
    pipeline = stopped_pipeline
    counters = [str(uuid.uuid4()) for _ in range(6)]
    for counter in counters:
        await pipeline.increment(counter, 1)
    await eventually(lambda: _pending_is_zero(pipeline))
    resets: list[tuple[TopicPartition, ...]] = []
    seek_to_beginning = AIOKafkaConsumer.seek_to_beginning

    async def noted(self: AIOKafkaConsumer, *partitions: TopicPartition) -> bool:
        if any(tp.topic == pipeline.topic for tp in partitions):  # not the epoch watch's reads
            resets.append(partitions)
        return await seek_to_beginning(self, *partitions)

    monkeypatch.setattr(AIOKafkaConsumer, "seek_to_beginning", noted)
    pipeline.tasks.append(asyncio.create_task(pipeline.subscription.run()))
    await eventually(lambda: _equals(pipeline.totals(), {counter: (1, 1) for counter in counters}))
    assert len(resets) == 1 and len(resets[0]) == 3, resets  # the topic's three partitions
