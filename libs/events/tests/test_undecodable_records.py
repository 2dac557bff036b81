"""Against a real broker, on both databases: a record aiokafka cannot read (a header name that is not UTF-8, a
batch saying it is compressed with a codec this process lacks, a batch whose CRC does not match) is dead-lettered
with where it was and why, its offset stored with the poll's bookkeeping, and the genuine event after it applied
(session 11 review 1, F1: it raised inside `getmany`, the consumer restarted at the stored offset and failed
again, for ever, while readiness said the subscription was fine)."""

from __future__ import annotations

import asyncio
import itertools
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.consumer import fetcher as aiokafka_fetcher
from aiokafka.partitioner import DefaultPartitioner
from sqlalchemy import select

from pmo_devstack.polling import eventually
from pmo_events.runtime import KafkaSettings, Subscription
from pmo_events.runtime import subscription as subscription_module
from pmo_events.runtime.schema import consumer_offsets

from .support import migrated, pending_is, published
from .test_relay_and_subscription import Pipeline, add_to_total, view_metadata

pytestmark = pytest.mark.integration

UNDECODABLE = "undecodable"  # the stable reason (header `pmo_dlq_reason`, metric label)
PRODUCER = Path(__file__).with_name("unreadable_producer.py")


@pytest.fixture
async def consuming_pipeline(database_url: str, tmp_path: Path, kafka_bootstrap: str, topic_prefix: str):
    """As `pipeline`, with the CONSUMER on the database under test (its offsets and dead letters are what
    matter here); the producer on SQLite."""
    producer_db = await migrated(f"sqlite+aiosqlite:///{tmp_path / 'producer.db'}", tmp_path)
    consumer_db = await migrated(database_url, tmp_path)
    async with consumer_db.engine.begin() as conn:
        await conn.run_sync(view_metadata.create_all)
    p = Pipeline(producer_db, consumer_db, KafkaSettings(bootstrap_servers=kafka_bootstrap), topic_prefix, tmp_path)
    await p.start()
    yield p
    await p.stop()
    await producer_db.dispose()
    await consumer_db.dispose()


def _send_unreadable(bootstrap: str, topic: str, mode: str, key: str, claims: int = 0) -> tuple[int, int]:
    out = subprocess.run(
        [sys.executable, str(PRODUCER), bootstrap, topic, mode, key, str(claims)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    partition, offset = out.stdout.split()
    return int(partition), int(offset)


@pytest.mark.parametrize("mode", ["header_name", "codec", "crc"])
async def test_an_unreadable_record_is_dead_lettered_and_the_next_genuine_event_applied(
    mode: str, consuming_pipeline: Pipeline, kafka_bootstrap: str
) -> None:
    pipeline = consuming_pipeline
    counter = str(uuid.uuid4())
    await pipeline.increment(counter, 1)
    await eventually(lambda: _totals_are(pipeline, {counter: (1, 1)}))
    partition, offset = await asyncio.to_thread(_send_unreadable, kafka_bootstrap, pipeline.topic, mode, counter)
    await pipeline.increment(counter, 2)  # the genuine next event, on the same partition, after the record
    await eventually(lambda: _totals_are(pipeline, {counter: (3, 2)}), timeout=30)
    status = pipeline.subscription.status
    assert (status.dead_lettered, status.dead_letters[UNDECODABLE], status.applied) == (1, 1, 2)
    assert status.failures_in_a_row == 0
    stored = await _stored_offset(pipeline, partition)
    await eventually(lambda: pending_is(pipeline.consumer_relay, 0))  # the dead letter published
    letters = [{k: v.decode() for k, v in r.headers} for r in await published(kafka_bootstrap, pipeline.dlq)]
    assert [
        (h["pmo_dlq_reason"], h["pmo_dlq_topic"], h["pmo_dlq_partition"], h["pmo_dlq_offset"]) for h in letters
    ] == [(UNDECODABLE, pipeline.topic, str(partition), str(offset))]
    expected_error = {"header_name": "UnicodeDecodeError", "codec": "UnsupportedCodecError", "crc": "CorruptRecord"}
    assert expected_error[mode] in letters[0]["pmo_dlq_error"]
    assert stored == offset + 2  # past the record and the genuine event after it


async def test_a_forged_batch_claiming_many_offsets_is_dead_lettered_once_as_a_range(
    consuming_pipeline: Pipeline, kafka_bootstrap: str
) -> None:
    """One batch flagged snappy whose header claims 100,001 records: the broker gives it that many offsets. It is
    dead-lettered ONCE, naming its first and last offset, the offset after it stored, and the genuine event
    after it applied at once (session 11 review 2, R2-5: one offset per poll, ~20/s, a dead letter each: the
    genuine event waited ~80 minutes, the dead-letter topic flooded). The consumer never seeks past the log end
    the broker reports, and Tansu reports the batch's first offset + 1 while nothing follows it: read then, the
    batch is dead-lettered in two ranges (its first offset, then the rest once the genuine event follows)."""
    pipeline = consuming_pipeline
    counter = str(uuid.uuid4())
    await pipeline.increment(counter, 1)
    await eventually(lambda: _totals_are(pipeline, {counter: (1, 1)}))
    claims = 100_000
    partition, first = await asyncio.to_thread(
        _send_unreadable, kafka_bootstrap, pipeline.topic, "codec", counter, claims
    )
    await pipeline.increment(counter, 2)
    await eventually(lambda: _totals_are(pipeline, {counter: (3, 2)}), timeout=20)
    status = pipeline.subscription.status
    assert status.dead_lettered == status.dead_letters[UNDECODABLE] <= 2 and status.applied == 2
    stored = await _stored_offset(pipeline, partition)
    assert stored == first + claims + 2  # past the batch and the genuine event after it
    await eventually(lambda: pending_is(pipeline.consumer_relay, 0))
    letters = [{k: v.decode() for k, v in r.headers} for r in await published(kafka_bootstrap, pipeline.dlq)]
    # In offset order: the dead-letter topic has several partitions, so the two letters may come back either way.
    ranges = sorted((int(h["pmo_dlq_offset"]), int(h["pmo_dlq_last_offset"])) for h in letters)
    assert len(ranges) == status.dead_lettered
    assert ranges[0][0] == first and ranges[-1][1] == first + claims  # the batch, every offset once
    assert all(a[1] + 1 == b[0] for a, b in itertools.pairwise(ranges))
    assert all("UnsupportedCodecError" in h["pmo_dlq_error"] for h in letters)


async def test_the_records_before_it_in_one_fetch_are_applied_with_it(
    consuming_pipeline: Pipeline, kafka_bootstrap: str
) -> None:
    """The consumer down meanwhile, so one fetch holds genuine events, then the record, then genuine events (of
    this partition and others): those before it apply in the record's poll, those after it in the next, each
    once and in order, and the stored offset ends past them all."""
    pipeline = consuming_pipeline
    counters = [str(uuid.uuid4()) for _ in range(4)]
    for counter in counters:
        await pipeline.increment(counter, 1)
    await eventually(lambda: _totals_are(pipeline, dict.fromkeys(counters, (1, 1))))
    await pipeline.subscription.stop()
    await pipeline.tasks[1]
    for counter in counters:
        await pipeline.increment(counter, 2)
    await eventually(lambda: pending_is(pipeline.relay, 0))
    await asyncio.to_thread(_send_unreadable, kafka_bootstrap, pipeline.topic, "header_name", counters[0])
    for counter in counters:
        await pipeline.increment(counter, 3)
    await eventually(lambda: pending_is(pipeline.relay, 0))
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
    await eventually(lambda: _totals_are(pipeline, dict.fromkeys(counters, (6, 3))), timeout=30)
    status = pipeline.subscription.status
    assert (status.dead_letters[UNDECODABLE], status.applied, status.skipped_duplicates) == (1, 8, 0)


async def test_a_consumer_failing_in_a_loop_is_reported_failing_until_it_advances(
    consuming_pipeline: Pipeline, kafka_bootstrap: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Readiness's figure: with the record's errors not recognised (as before this fix) the consumer restarts on
    it again and again, reconnecting each time, and `failing` says so; once it gets past the record (recognised
    again) and applies a poll, it is not failing any more."""
    pipeline = consuming_pipeline
    counter = str(uuid.uuid4())
    await pipeline.increment(counter, 1)
    await eventually(lambda: _totals_are(pipeline, {counter: (1, 1)}))
    monkeypatch.setattr(subscription_module, "UNREADABLE", ())
    await asyncio.to_thread(_send_unreadable, kafka_bootstrap, pipeline.topic, "header_name", counter)
    await pipeline.increment(counter, 2)
    status = pipeline.subscription.status
    await eventually(lambda: status.failing, "the subscription reported failing", timeout=30)
    assert "UnicodeDecodeError" in (status.failing_with or "")
    assert await pipeline.totals() == {counter: (1, 1)}
    monkeypatch.undo()
    await eventually(lambda: _totals_are(pipeline, {counter: (3, 2)}), timeout=30)
    assert not status.failing and status.dead_letters[UNDECODABLE] == 1


async def _totals_are(pipeline: Pipeline, expected: dict[str, tuple[int, int]]) -> bool:
    return await pipeline.totals() == expected


async def _stored_is(pipeline: Pipeline, partition: int, expected: int) -> bool:
    return await _stored_offset(pipeline, partition) == expected


async def _stored_offset(pipeline: Pipeline, partition: int) -> int:
    """The next offset the consumer stored for `partition` of the pipeline's topic."""
    async with pipeline.consumer_db.sessions() as session:
        return (
            await session.execute(
                select(consumer_offsets.c.next_offset).where(
                    consumer_offsets.c.consumer == pipeline.subscription.name,
                    consumer_offsets.c.topic == pipeline.topic,
                    consumer_offsets.c.partition == partition,
                )
            )
        ).scalar_one()


async def test_a_record_claiming_an_offset_past_the_log_end_is_dead_lettered_where_it_is(
    consuming_pipeline: Pipeline, kafka_bootstrap: str
) -> None:
    """A readable record whose offset delta is 2**40 (a plain producer's; Tansu keeps it) comes back at its batch's
    offset plus 2**40. It is dead-lettered at the offset it holds in the log, and the offset stored after it is
    the one after that: the poll stored the offset after its claim, so a restart read from past the log end."""
    pipeline = consuming_pipeline
    counter = str(uuid.uuid4())
    await pipeline.increment(counter, 1)
    await eventually(lambda: _totals_are(pipeline, {counter: (1, 1)}))
    partition, offset = await asyncio.to_thread(
        _send_unreadable, kafka_bootstrap, pipeline.topic, "offset_delta", counter, 2**40
    )
    status = pipeline.subscription.status
    await eventually(lambda: status.dead_lettered == 1, "the record dead-lettered", timeout=30)
    # Counted in the poll's transaction: its offset is there once it commits.
    await eventually(lambda: _stored_is(pipeline, partition, offset + 1), "the offset after it stored", timeout=10)
    assert status.dead_letters[UNDECODABLE] == 1  # it was "malformed_envelope", at offset + 2**40
    await pipeline.increment(counter, 2)
    await eventually(lambda: _totals_are(pipeline, {counter: (3, 2)}), timeout=30)
    assert await _stored_offset(pipeline, partition) == offset + 2
    await eventually(lambda: pending_is(pipeline.consumer_relay, 0))
    letters = [{k: v.decode() for k, v in r.headers} for r in await published(kafka_bootstrap, pipeline.dlq)]
    assert [(h["pmo_dlq_reason"], h["pmo_dlq_offset"]) for h in letters] == [(UNDECODABLE, str(offset))]
    assert "MisplacedRecord" in letters[0]["pmo_dlq_error"]


async def test_only_the_partition_holding_the_record_is_read_alone(
    consuming_pipeline: Pipeline, kafka_bootstrap: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The record on the topic's last partition, genuine events waiting on the others: the partition the reader
    failed on is read alone first, and it is found there. Every partition before it in order was read alone one
    record at a time to its end and then waited a second for more, records that were then dropped and fetched
    again (their neighbours paid for the record: 2.04 s inside the search with 200 events waiting)."""
    pipeline = consuming_pipeline
    counters = [str(uuid.uuid4()) for _ in range(12)]
    for counter in counters:
        await pipeline.increment(counter, 1)
    await eventually(lambda: _totals_are(pipeline, dict.fromkeys(counters, (1, 1))))
    await pipeline.subscription.stop()
    await pipeline.tasks[1]
    for counter in counters:
        await pipeline.increment(counter, 2)
    await eventually(lambda: pending_is(pipeline.relay, 0))
    last = await _last_partition(kafka_bootstrap, pipeline.topic)
    key = next(k for k in (str(uuid.uuid4()) for _ in range(1000)) if _partition_of(k, last + 1) == last)
    partition, _ = await asyncio.to_thread(_send_unreadable, kafka_bootstrap, pipeline.topic, "header_name", key)
    assert partition == last
    read_alone: list[int] = []
    original = Subscription._read_alone

    async def noted(self: Subscription, consumer: Any, tp: Any) -> Any:
        read_alone.append(tp.partition)
        return await original(self, consumer, tp)

    monkeypatch.setattr(Subscription, "_read_alone", noted)
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
    await eventually(lambda: _totals_are(pipeline, dict.fromkeys(counters, (3, 2))), timeout=30)
    assert pipeline.subscription.status.dead_letters[UNDECODABLE] == 1
    assert read_alone == [last, last], read_alone  # found, then read again to be sure; no other partition


async def _last_partition(bootstrap: str, topic: str) -> int:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        return max(await producer.partitions_for(topic))
    finally:
        await producer.stop()


def _partition_of(key: str, partitions: int) -> int:
    return int(DefaultPartitioner()(key.encode(), list(range(partitions)), list(range(partitions))))


async def _lagging_with_a_misplaced_record(pipeline: Pipeline, bootstrap: str, counter: str) -> tuple[int, int]:
    """Event 1 applied, then the consumer stopped; a plain producer's record whose offset delta is 3 (its own
    one-record batch: it claims 3 offsets past its own), then five genuine events of the same stream (offsets
    right after it). Answers the record's partition and offset."""
    await pipeline.increment(counter, 1)
    await eventually(lambda: _totals_are(pipeline, {counter: (1, 1)}))
    await pipeline.subscription.stop()
    await pipeline.tasks[1]
    partition, offset = await asyncio.to_thread(_send_unreadable, bootstrap, pipeline.topic, "offset_delta", counter, 3)
    for by in (2, 3, 4, 5, 6):
        await pipeline.increment(counter, by)
    await eventually(lambda: pending_is(pipeline.relay, 0))
    return partition, offset


def _resumed(pipeline: Pipeline, max_records: int) -> None:
    old = pipeline.subscription
    pipeline.subscription = Subscription(
        name=old.name,
        topics=[pipeline.topic],
        db=pipeline.consumer_db,
        kafka=old.kafka,
        handler=add_to_total,
        dead_letter_topic=pipeline.dlq,
        trust=pipeline.trust,
        max_records=max_records,
    )
    pipeline.tasks[1] = asyncio.create_task(pipeline.subscription.run())


@pytest.mark.parametrize("max_records", [1, 2000])
async def test_a_record_claiming_a_few_offsets_past_its_own_is_dead_lettered_where_it_is(
    max_records: int, consuming_pipeline: Pipeline, kafka_bootstrap: str
) -> None:
    """Session 13 review, F1: the record claims 3 offsets past its own, the genuine records it jumped over come
    after it in the fetch. With a poll ending on it (`max_records` 1; any catch-up's 2,000 cut can), nothing after
    it in the poll showed it out of place: the poll stored the offset after its claim, the next dropped the
    genuine events below that, and the stream's later events waited for the gap for good (totals (1, 1) then
    (1, 1) after a 7th event; no dead letter but the record's `malformed_envelope`). Each record is now bounded
    by its own record batch: the record is dead-lettered at its offset, every genuine event applied."""
    pipeline = consuming_pipeline
    counter = str(uuid.uuid4())
    partition, offset = await _lagging_with_a_misplaced_record(pipeline, kafka_bootstrap, counter)
    _resumed(pipeline, max_records)
    await eventually(lambda: _totals_are(pipeline, {counter: (21, 6)}), timeout=30)
    await pipeline.increment(counter, 7)  # a later genuine event of the same stream
    await eventually(lambda: _totals_are(pipeline, {counter: (28, 7)}), timeout=30)
    await eventually(lambda: _stored_is(pipeline, partition, offset + 7), "the offset after the 7th stored", timeout=10)
    status = pipeline.subscription.status
    assert (status.dead_lettered, status.dead_letters[UNDECODABLE], status.applied) == (1, 1, 6)
    assert (status.out_of_order, status.below_stored_offset) == (0, 0)
    await eventually(lambda: pending_is(pipeline.consumer_relay, 0))
    letters = [{k: v.decode() for k, v in r.headers} for r in await published(kafka_bootstrap, pipeline.dlq)]
    assert [(h["pmo_dlq_reason"], h["pmo_dlq_offset"]) for h in letters] == [(UNDECODABLE, str(offset))]
    assert "MisplacedRecord" in letters[0]["pmo_dlq_error"]


async def test_records_read_below_the_offset_this_process_stored_are_counted_and_logged(
    consuming_pipeline: Pipeline,
    kafka_bootstrap: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """With the records not bounded by their batches (aiokafka's own reader, as before the fix), the poll ending on
    the misplaced record stores the offset after its claim and the next poll reads the genuine records below it:
    they are dropped, as before, but no longer silently (they showed only as events waiting for a gap)."""
    pipeline = consuming_pipeline
    counter = str(uuid.uuid4())
    await _lagging_with_a_misplaced_record(pipeline, kafka_bootstrap, counter)
    monkeypatch.setattr(aiokafka_fetcher, "PartitionRecords", subscription_module._PartitionRecords)
    _resumed(pipeline, 1)
    status = pipeline.subscription.status
    await eventually(lambda: status.below_stored_offset == 3, "the three genuine records below counted", timeout=30)
    assert "that poll stored past records it never read" in caplog.text
    assert await pipeline.totals() == {counter: (1, 1)}  # the loss itself, which the bound prevents


@pytest.mark.parametrize("max_records", [1, 2000])
async def test_a_gap_a_batch_header_leaves_before_a_genuine_record_is_no_misplaced_record(
    max_records: int, consuming_pipeline: Pipeline, kafka_bootstrap: str
) -> None:
    """A readable one-record batch whose header claims 5 offsets more: the broker leaves a gap after its record,
    and the genuine event after it holds an offset past the gap. Bounded by its own batch, the genuine event is in
    place (a check of plain offset contiguity would flag it), applied; the batch's own record is read as any
    plain producer's record (no envelope: `malformed_envelope`). The consumer lags meanwhile (one fetch holds
    both, with a `max_records` cut between them, then without)."""
    pipeline = consuming_pipeline
    counter = str(uuid.uuid4())
    await pipeline.increment(counter, 1)
    await eventually(lambda: _totals_are(pipeline, {counter: (1, 1)}))
    await pipeline.subscription.stop()
    await pipeline.tasks[1]
    partition, first = await asyncio.to_thread(_send_unreadable, kafka_bootstrap, pipeline.topic, "gap", counter, 5)
    await pipeline.increment(counter, 2)
    await eventually(lambda: pending_is(pipeline.relay, 0))
    _resumed(pipeline, max_records)
    await eventually(lambda: _totals_are(pipeline, {counter: (3, 2)}), timeout=30)
    status = pipeline.subscription.status
    assert (status.dead_letters[UNDECODABLE], status.dead_letters["malformed_envelope"]) == (0, 1)
    assert (status.out_of_order, status.below_stored_offset) == (0, 0)
    await eventually(lambda: _stored_is(pipeline, partition, first + 5 + 2), "past the gap and the event", timeout=10)
