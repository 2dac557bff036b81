"""Against a real broker: forged records never touch state or sequence bookkeeping, a subscription survives a
stray CancelledError, and a record the broker refuses for good parks its own stream only."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer
from sqlalchemy import func, select

from pmo_devstack.keys import event_signer
from pmo_devstack.polling import eventually
from pmo_events.envelope import RecordedEvent
from pmo_events.runtime import CommandRuntime, EventStore, Metadata, parking
from pmo_events.runtime.schema import consumed_streams, outbox
from pmo_events.runtime.store import kafka_record
from pmo_events.signing import EventSigner

from .support import COUNTER, Incremented
from .test_relay_and_subscription import Pipeline, add_to_total, pipeline

pytestmark = pytest.mark.integration
__all__ = ["pipeline"]


async def send_raw(
    bootstrap: str,
    topic: str,
    recorded: RecordedEvent,
    signer: EventSigner | None,
    extra_headers: tuple[tuple[str, bytes], ...] = (),
) -> None:
    """What anyone who can reach the broker can do: a plain producer, any headers."""
    record = kafka_record(recorded, signer)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        headers = [*record.headers.items(), *extra_headers]
        await producer.send_and_wait(topic, record.value, key=record.key.encode(), headers=headers)
    finally:
        await producer.stop()


def forged(counter: str, sequence: int, by: int, **changes: object) -> RecordedEvent:
    fields: dict[str, object] = {
        "event_id": str(uuid.uuid4()),
        "type": Incremented.type_name(),
        "source": "/pmo/test",
        "stream_id": counter,
        "sequence": sequence,
        "time": datetime.now(UTC),
        "data": {"counter_id": counter, "by": by},
        **changes,
    }
    return RecordedEvent(**fields)  # type: ignore[arg-type]


async def test_forged_records_are_dead_lettered_and_the_genuine_next_event_is_applied(
    pipeline: Pipeline, kafka_bootstrap: str, tmp_path: Path
) -> None:
    counter = str(uuid.uuid4())
    await pipeline.increment(counter, 1)
    await eventually(lambda: _is(pipeline, {counter: (1, 1)}))
    intruder = event_signer(tmp_path / "intruder", "test")  # a key of the right name, not the producer's
    forgeries = [
        (forged(counter, 2, 100), intruder),  # genuine source, next sequence, wrong key
        (forged(counter, 2, 100), None),  # unsigned
        (forged(counter, 2, 100, data={"by": "not a number"}), None),  # invalid payload at last + 1
        (forged(counter, 2, 100, source="/pmo/test-forged"), pipeline.signer),  # forged source
    ]
    for recorded, signer in forgeries:
        await send_raw(kafka_bootstrap, pipeline.topic, recorded, signer)
    await eventually(lambda: pipeline.subscription.status.rejected == len(forgeries))
    await pipeline.increment(counter, 2)  # the genuine sequence 2, after every forgery of it
    await eventually(lambda: _is(pipeline, {counter: (3, 2)}))
    assert pipeline.subscription.status.dead_lettered == len(forgeries)
    async with pipeline.consumer_db.sessions() as session:
        rows = (await session.execute(select(consumed_streams))).all()
    # Bookkeeping is keyed by the topic's owner: the forged source left no trace.
    assert {(r.source, r.stream_id, r.last_sequence) for r in rows} == {("/pmo/test", counter, 2)}


async def test_a_signed_record_replayed_under_upper_case_headers_is_dead_lettered_and_applies_nothing(
    pipeline: Pipeline, kafka_bootstrap: str
) -> None:
    """The producer's own signed record of sequence 1, sent again by a plain producer with `CE_SEQUENCE: 2`
    and `CE_ID` added: its signature covers the lower-case headers only, so read as the SDK reads it (names
    lower-cased, the last one wins) it would apply a second time as sequence 2 with a valid signature."""
    counter = str(uuid.uuid4())
    genuine = forged(counter, 1, 1)
    await pipeline.increment(counter, 1)
    await eventually(lambda: _is(pipeline, {counter: (1, 1)}))
    replay = (("CE_SEQUENCE", b"2"), ("CE_ID", str(uuid.uuid4()).encode()))
    await send_raw(kafka_bootstrap, pipeline.topic, genuine, pipeline.signer, replay)
    await eventually(lambda: pipeline.subscription.status.dead_lettered == 1)
    assert pipeline.subscription.status.dead_letters["malformed_envelope"] == 1
    await pipeline.increment(counter, 2)  # the genuine sequence 2 still applies, once
    await eventually(lambda: _is(pipeline, {counter: (3, 2)}))
    assert pipeline.subscription.status.dead_lettered == 1


async def test_a_stray_cancelled_error_reconnects_instead_of_ending_the_subscription(
    pipeline: Pipeline,
) -> None:
    """aiokafka cancels internal futures when the broker goes away; that must not end the task for good."""
    tripped: list[str] = []

    async def cancelled_once(session, event):
        if not tripped:
            tripped.append(event.event_id)
            raise asyncio.CancelledError("internal future cancelled")
        await add_to_total(session, event)

    pipeline.subscription.handler = cancelled_once
    counter = str(uuid.uuid4())
    await pipeline.increment(counter, 4)
    await eventually(lambda: _is(pipeline, {counter: (4, 1)}))
    assert tripped and not pipeline.tasks[1].done()
    assert pipeline.subscription.status.connected


async def test_a_record_refused_for_good_parks_its_stream_while_others_flow(pipeline: Pipeline) -> None:
    oversized = CommandRuntime(
        pipeline.runtime.db,
        EventStore(source="/pmo/test", topic=pipeline.topic, signer=pipeline.signer, max_event_bytes=4_000_000),
        on_commit=pipeline.relay.wake,
    )
    stuck, flowing = str(uuid.uuid4()), str(uuid.uuid4())
    async with oversized.unit_of_work(Metadata(actor="legacy")) as uow:
        # An event stored before the size limit existed: larger than the producer's 1 MiB request limit.
        event = Incremented(counter_id=stuck + "x" * 1_200_000, by=1)
        await uow.append(COUNTER, stuck, 0, [event])
    await pipeline.increment(stuck, 2)  # held behind it
    for by in (1, 2, 3):
        await pipeline.increment(flowing, by)
    await eventually(lambda: _is(pipeline, {flowing: (6, 3)}))
    assert pipeline.relay.status.parked == 1
    async with pipeline.runtime.db.sessions() as session:
        [held] = await parking.parked(session)
    assert (held.topic, held.key) == (pipeline.topic, stuck)
    assert "MessageSizeTooLarge" in held.error

    async with pipeline.runtime.db.transaction() as session:  # retry: the broker still refuses it
        assert await parking.retry(session, topic=pipeline.topic, key=stuck)
    pipeline.relay.wake()
    [again] = await eventually(lambda: _parked(pipeline))
    assert (again.outbox_id, again.key) == (held.outbox_id, stuck) and again.parked_at > held.parked_at
    async with pipeline.runtime.db.transaction() as session:
        assert await parking.release(session, topic=pipeline.topic, key=stuck, by="olga", reason="legacy record")
    pipeline.relay.wake()
    await eventually(lambda: _pending_is(pipeline, 0))  # the rest of the stream went out
    assert await _parked(pipeline) == []
    async with pipeline.runtime.db.sessions() as session:  # the released record left the outbox with the rest
        assert (await session.execute(select(func.count()).select_from(outbox))).scalar_one() == 0
    # Consumers hold that stream at the gap the released record leaves: nothing of it is applied.
    await eventually(lambda: pipeline.subscription.status.out_of_order >= 1)
    assert stuck not in await pipeline.totals()


async def _parked(pipeline: Pipeline) -> list[parking.ParkedStream]:
    async with pipeline.runtime.db.sessions() as session:
        return await parking.parked(session)


async def _pending_is(pipeline: Pipeline, expected: int) -> bool:
    return await pipeline.relay.pending() == expected


async def _is(pipeline: Pipeline, expected: dict[str, tuple[int, int]]) -> bool:
    return await pipeline.totals() == expected
