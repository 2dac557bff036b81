"""One producer signature per relay batch (issue 17, live path): the relay signs each batch it publishes to a
partition once, beside each record's own signature; a consumer holding the whole batch, in order, verifies that one
signature, and anything else (a record of no batch, a batch met in part, a signature that does not verify) is
checked record by record, as before. A forged record is dead-lettered exactly as before, its genuine neighbours
apply."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaProducer, TopicPartition
from aiokafka.structs import ConsumerRecord

from pmo_devstack.keys import event_keys_dir, event_signer
from pmo_devstack.polling import eventually
from pmo_events.envelope import RecordedEvent, header_map
from pmo_events.runtime import KafkaSettings, Metadata, OutboxRelay, Subscription
from pmo_events.runtime.relay import _OutboxRow, sign_batches
from pmo_events.runtime.store import kafka_record
from pmo_events.runtime.subscription import BATCH_REST_AT_MOST, _batch_missing, _whole_batch, chunked
from pmo_events.signing import (
    BAD_SIGNATURE,
    BATCH_COUNT_HEADER,
    BATCH_ID_HEADER,
    BATCH_INDEX_HEADER,
    BATCH_KEY_ID_HEADER,
    BATCH_SIGNATURE_HEADER,
    SIGNATURE_HEADER,
    EventSigner,
    PublicKeyDirectory,
    batch_signing_input,
    record_digest,
    signing_input,
)

from .support import COUNTER, Incremented
from .test_forgeries_and_parking import _is, forged
from .test_relay_and_subscription import Pipeline, add_to_total, pipeline

__all__ = ["pipeline"]

Headers = list[tuple[str, bytes]]


class _Partitions:
    """As much of a producer as `OutboxRelay._batched` asks: the topic's partitions."""

    async def partitions_for(self, topic: str) -> set[int]:
        return {0}


async def relay_headers(relay: OutboxRelay, events: list[RecordedEvent]) -> list[Headers]:
    """The headers `relay` sends `events` with in one round (one batch: one stream, one partition)."""
    assert relay.topic is not None and relay.signer is not None
    rows = []
    for n, event in enumerate(events):
        record = kafka_record(event, relay.signer)
        text = orjson.dumps({k: v.decode() for k, v in record.headers.items()}).decode()
        rows.append(_OutboxRow(n, relay.topic, record.key, text, record.value))
    return [headers for headers, _ in await relay._batched(_Partitions(), rows)]


async def send(bootstrap: str, topic: str, records: list[tuple[RecordedEvent, Headers]]) -> None:
    """What anyone who can reach the broker can do: a plain producer, any headers, in this order."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        for event, headers in records:
            value = kafka_record(event, None).value
            await producer.send_and_wait(topic, value, key=event.stream_id.encode(), headers=headers)
    finally:
        await producer.stop()


async def paused(pipeline: Pipeline) -> None:
    await pipeline.subscription.stop()
    await pipeline.tasks[1]


def resumed(pipeline: Pipeline, **options: Any) -> Subscription:
    subscription = pipeline.subscription = Subscription(
        name=pipeline.subscription.name,
        topics=[pipeline.topic],
        db=pipeline.consumer_db,
        kafka=pipeline.subscription.kafka,
        handler=add_to_total,
        dead_letter_topic=pipeline.dlq,
        trust=pipeline.trust,
        **options,
    )
    pipeline.tasks[1] = asyncio.create_task(subscription.run())
    return subscription


def genuine(counter: str, count: int) -> list[RecordedEvent]:
    return [forged(counter, sequence, 1) for sequence in range(1, count + 1)]


def replaced(headers: Headers, **changes: bytes) -> Headers:
    return [(name, changes.get(name, value)) for name, value in headers]


@pytest.mark.integration
async def test_the_relays_batches_are_authenticated_by_one_signature_each(pipeline: Pipeline) -> None:
    """Six events committed together go out in one relay round: a batch per partition, each verified once."""
    await paused(pipeline)
    counters = [str(uuid.uuid4()) for _ in range(2)]
    async with pipeline.runtime.unit_of_work(Metadata(actor="tester")) as uow:
        for counter in counters:
            loaded = await uow.load(COUNTER, counter)
            await uow.append(
                COUNTER, counter, loaded.version, [Incremented(counter_id=counter, by=by) for by in (1, 2, 3)]
            )
    await eventually(lambda: _no_pending(pipeline))
    subscription = resumed(pipeline)
    await eventually(lambda: _is(pipeline, {counter: (6, 3) for counter in counters}))
    assert (subscription.status.batch_checks, subscription.status.record_checks) == (6, 0)
    assert subscription.status.dead_lettered == 0


@pytest.mark.integration
async def test_a_forged_record_amid_a_genuine_batch_is_dead_lettered_and_the_genuine_ones_apply(
    pipeline: Pipeline, kafka_bootstrap: str, tmp_path: Path
) -> None:
    """A plain producer's record under the copied batch headers of the batch's third record, between its second
    and third: the batch is no longer whole in order, so each record is checked alone."""
    counter = str(uuid.uuid4())
    events = genuine(counter, 4)
    headers = await relay_headers(pipeline.relay, events)
    intruder = event_signer(tmp_path / "intruder", "test")
    forgery = forged(counter, 3, 100)
    batch_part = [(n, v) for n, v in headers[2] if n.startswith("pmo_batch")]
    forged_headers = [*kafka_record(forgery, intruder).headers.items(), *batch_part]
    await paused(pipeline)
    records = list(zip(events, headers, strict=True))
    await send(kafka_bootstrap, pipeline.topic, [*records[:2], (forgery, forged_headers), *records[2:]])
    subscription = resumed(pipeline)
    await eventually(lambda: _is(pipeline, {counter: (4, 4)}))
    await eventually(lambda: subscription.status.dead_lettered == 1)
    assert subscription.status.dead_letters["unknown_key"] == 1
    assert (subscription.status.batch_checks, subscription.status.record_checks) == (0, 5)


@pytest.mark.integration
async def test_a_forged_record_in_a_genuine_records_place_fails_the_batch_and_is_dead_lettered(
    pipeline: Pipeline, kafka_bootstrap: str
) -> None:
    """The third record's every header (its own signature, the batch's) copied onto another value, in its
    place: the batch is whole in order, its signature does not verify over the forgery, so each record is
    checked alone; the forgery is dead-lettered, the two before it apply (the fourth waits for the third,
    which the relay sends again)."""
    counter = str(uuid.uuid4())
    events = genuine(counter, 4)
    headers = await relay_headers(pipeline.relay, events)
    forgery = forged(counter, 3, 100, event_id=events[2].event_id, time=events[2].time)
    await paused(pipeline)
    await send(kafka_bootstrap, pipeline.topic, [(events[0], headers[0]), (events[1], headers[1]),
                                                   (forgery, headers[2]), (events[3], headers[3])])  # fmt: skip
    subscription = resumed(pipeline)
    await eventually(lambda: subscription.status.dead_lettered == 1)
    assert subscription.status.dead_letters[BAD_SIGNATURE] == 1
    await eventually(lambda: _is(pipeline, {counter: (2, 2)}))
    assert (subscription.status.batch_checks, subscription.status.record_checks) == (0, 4)
    signed = [list(kafka_record(event, pipeline.signer).headers.items()) for event in events[2:]]
    await send(kafka_bootstrap, pipeline.topic, list(zip(events[2:], signed, strict=True)))
    await eventually(lambda: _is(pipeline, {counter: (4, 4)}))


@pytest.mark.integration
async def test_a_batch_whose_signature_does_not_verify_is_checked_record_by_record(
    pipeline: Pipeline, kafka_bootstrap: str
) -> None:
    """The producer's own key, but over another batch: every record still has its own signature, and applies."""
    counter = str(uuid.uuid4())
    events = genuine(counter, 4)
    headers = await relay_headers(pipeline.relay, events)
    digests = [record_digest(dict(h), kafka_record(e, None).value) for e, h in zip(events, headers, strict=True)]
    other = pipeline.signer.sign_batch(b"another batch", digests)
    headers[3] = replaced(headers[3], **{BATCH_SIGNATURE_HEADER: other})
    await paused(pipeline)
    await send(kafka_bootstrap, pipeline.topic, list(zip(events, headers, strict=True)))
    subscription = resumed(pipeline)
    await eventually(lambda: _is(pipeline, {counter: (4, 4)}))
    assert (subscription.status.batch_checks, subscription.status.record_checks) == (0, 4)
    assert subscription.status.dead_lettered == 0


@pytest.mark.integration
async def test_a_batch_cut_by_the_polls_size_is_read_to_its_end_and_checked_by_its_signature(
    pipeline: Pipeline, kafka_bootstrap: str
) -> None:
    """Polls of 3 and a relay batch of 4 the consumer holds whole: the poll is read on to the batch's end (it was
    cut there and both sides checked record by record, (0, 4), until s14)."""
    counter = str(uuid.uuid4())
    events = genuine(counter, 4)
    headers = await relay_headers(pipeline.relay, events)
    await paused(pipeline)
    await send(kafka_bootstrap, pipeline.topic, list(zip(events, headers, strict=True)))
    subscription = resumed(pipeline, max_records=3)
    await eventually(lambda: _is(pipeline, {counter: (4, 4)}))
    assert (subscription.status.batch_checks, subscription.status.record_checks) == (4, 0)
    assert subscription.status.dead_lettered == 0


@pytest.mark.integration
async def test_records_without_batch_headers_still_apply(pipeline: Pipeline, kafka_bootstrap: str) -> None:
    """As a relay before this change sent them (or one without a key): each record signed alone."""
    counter = str(uuid.uuid4())
    events = genuine(counter, 3)
    await paused(pipeline)
    await send(
        kafka_bootstrap, pipeline.topic, [(e, list(kafka_record(e, pipeline.signer).headers.items())) for e in events]
    )
    subscription = resumed(pipeline)
    await eventually(lambda: _is(pipeline, {counter: (3, 3)}))
    assert (subscription.status.batch_checks, subscription.status.record_checks) == (0, 3)


async def _no_pending(pipeline: Pipeline) -> bool:
    return await pipeline.relay.pending() == 0


# Without a broker.


def _keys(tmp_path: Path) -> tuple[EventSigner, PublicKeyDirectory]:
    signer = event_signer(tmp_path, "test")
    return signer, PublicKeyDirectory.load(event_keys_dir(tmp_path) / "public")


def test_a_batch_signature_never_verifies_as_a_record_signature(tmp_path: Path) -> None:
    signer, keys = _keys(tmp_path)
    event = forged(str(uuid.uuid4()), 1, 1)
    record = kafka_record(event, signer)
    digest = record_digest(record.headers, record.value)
    # The batch signature of the record's own batch, put where its signature goes: refused.
    batch_signature = signer.sign_batch(b"b1", [digest])
    as_record = {**record.headers, SIGNATURE_HEADER: batch_signature}
    rejection = keys.rejection("test", as_record, record.value)
    assert rejection is not None and rejection.reason == BAD_SIGNATURE
    # And the record's signature never verifies as a batch signature of it (whatever the batch id).
    for batch_id in (b"", b"b1"):
        assert not keys.verifies_batch(
            "test", signer.key_id.encode(), batch_id, [digest], record.headers[SIGNATURE_HEADER]
        )
    assert keys.verifies_batch("test", signer.key_id.encode(), b"b1", [digest], batch_signature)
    # The two signed messages differ from their first bytes (the domain's length): neither can be the other.
    assert batch_signing_input(b"b1", [digest])[:4] != signing_input(record.headers, record.value)[:4]


def test_a_batch_signature_by_another_service_or_key_does_not_verify(tmp_path: Path) -> None:
    signer, keys = _keys(tmp_path)
    digest = record_digest({}, b"{}")
    signature = signer.sign_batch(b"b", [digest])
    assert not keys.verifies_batch("other", signer.key_id.encode(), b"b", [digest], signature)
    assert not keys.verifies_batch("test", b"0000000000000000", b"b", [digest], signature)
    assert not keys.verifies_batch("test", signer.key_id.encode(), b"b", [digest, digest], signature)
    assert not keys.verifies_batch("test", signer.key_id.encode(), b"b", [digest], b"not base64!")


def _records(headers: list[Headers], first_offset: int = 10) -> list[ConsumerRecord[Any, Any]]:
    return [
        ConsumerRecord("t", 0, first_offset + n, 0, 0, b"k", b"{}", None, 1, 2, tuple(h)) for n, h in enumerate(headers)
    ]


def _batch(count: int, batch_id: bytes = b"x") -> list[Headers]:
    heads = [
        [(BATCH_ID_HEADER, batch_id), (BATCH_INDEX_HEADER, str(n).encode()), (BATCH_COUNT_HEADER, str(count).encode())]
        for n in range(count)
    ]
    heads[-1] += [(BATCH_SIGNATURE_HEADER, b"sig"), (BATCH_KEY_ID_HEADER, b"kid")]
    return heads


def _whole(records: list[ConsumerRecord[Any, Any]], start: int) -> Any:
    return _whole_batch(records, start, header_map(records[start].headers))


def test_a_whole_batch_is_found_only_whole_and_in_order() -> None:
    found = _whole(_records(_batch(3)), 0)
    assert found is not None and (len(found[0]), found[1:]) == (3, (b"x", b"sig", b"kid"))
    assert _whole(_records([[], *_batch(2)]), 1) is not None  # after a record of no batch
    not_whole = {
        "cut by the poll's end": _batch(3)[:2],
        "not from its first": _batch(3)[1:],
        "an index repeated": [_batch(3)[0], _batch(3)[1], _batch(3)[1], _batch(3)[2]],
        "an index missing": [_batch(4)[0], _batch(4)[1], _batch(4)[3]],
        "another batch's record between": [_batch(2)[0], _batch(2, b"y")[1], _batch(2)[1]],
        "a record of none between": [_batch(2)[0], [], _batch(2)[1]],
        "no signature": [_batch(2)[0], _batch(2)[1][:3]],
        "a count that is no number": [replaced(h, **{BATCH_COUNT_HEADER: b"+2"}) for h in _batch(2)],
        "a count of 0": [replaced(h, **{BATCH_COUNT_HEADER: b"0"}) for h in _batch(1)],
        "a count that disagrees": [_batch(2)[0], replaced(_batch(2)[1], **{BATCH_COUNT_HEADER: b"3"})],
    }
    for why, heads in not_whole.items():
        assert _whole(_records(heads), 0) is None, why
    records = _records(_batch(2))
    records[1] = _records(_batch(2), first_offset=12)[1]  # a gap in the offsets
    assert _whole(records, 0) is None


def test_a_chunk_ends_after_the_batch_it_would_cut() -> None:
    """A poll's chunks for the checker thread keep a relay batch the poll holds whole (else both parts are
    checked record by record); a batch the poll holds in part, or a record of none, cuts as before."""
    tp = TopicPartition("t.test.events", 0)
    records = _records([*_batch(3, b"a"), *_batch(3, b"b"), [], []])
    assert [len(c[tp]) for c in chunked({tp: records}, 2)] == [3, 4, 1]  # 2 -> 3 (the rest of batch a)
    assert [len(c[tp]) for c in chunked({tp: records}, 4)] == [6, 2]  # 4 -> 6 (the rest of batch b)
    assert [len(c[tp]) for c in chunked({tp: records[:5]}, 4)] == [5]  # b is cut by the poll: to its end
    plain = _records([[]] * 5)
    assert [len(c[tp]) for c in chunked({tp: plain}, 2)] == [2, 3]


def test_a_poll_is_read_on_by_what_its_last_records_batch_claims_within_a_bound() -> None:
    batch = _records(_batch(4))
    assert [_batch_missing(record) for record in batch] == [3, 2, 1, 0]
    assert _batch_missing(_records([[]])[0]) == 0
    claims_more = _records([[(BATCH_INDEX_HEADER, b"0"), (BATCH_COUNT_HEADER, b"999999999")]])[0]
    assert min(_batch_missing(claims_more), BATCH_REST_AT_MOST) == 500


def test_a_count_or_index_of_any_length_is_read_without_failing() -> None:
    huge = b"9" * 5000  # `int()` refuses more than 4,300 digits
    heads = [[(BATCH_ID_HEADER, b"x"), (BATCH_INDEX_HEADER, b"0"), (BATCH_COUNT_HEADER, huge)], []]
    records = _records(heads)
    assert _whole(records, 0) is None
    tp = TopicPartition("t.test.events", 0)
    assert [len(c[tp]) for c in chunked({tp: _records([*heads, [], []])}, 1)] == [1, 2, 1]


def test_a_partitions_only_record_of_a_round_is_of_no_batch(tmp_path: Path) -> None:
    """A batch of one would cost the relay a signature and save the consumer nothing: the live case (a command
    a round) goes out as before."""
    signer = event_signer(tmp_path, "test")
    records = [kafka_record(forged(str(uuid.uuid4()), 1, 1), signer) for _ in range(3)]
    headers = [dict(r.headers) for r in records]
    sign_batches(signer, [(headers[0], records[0].value, 0), (headers[1], records[1].value, 1),
                          (headers[2], records[2].value, 1)])  # fmt: skip
    assert headers[0] == records[0].headers
    assert [h[BATCH_INDEX_HEADER] for h in headers[1:]] == [b"0", b"1"] and BATCH_SIGNATURE_HEADER in headers[2]


@pytest.mark.integration
async def test_the_relay_names_the_partition_the_producer_would_choose(
    pipeline: Pipeline, kafka_bootstrap: str
) -> None:
    """A batched record is sent to a partition the relay names (to know its batch): the one the producer chooses
    for its key, so a stream stays on its partition across relays of either release (a rolling update)."""
    from pmo_events.runtime.kafka import make_producer
    from pmo_events.runtime.partitioning import partition_of

    producer = make_producer(KafkaSettings(bootstrap_servers=kafka_bootstrap), "test-partitions")
    await producer.start()
    try:
        partitions = list(await producer.partitions_for(pipeline.topic))
        assert len(partitions) > 1
        keys = [str(uuid.uuid4()).encode() for _ in range(200)]
        named = [partition_of(key, partitions) for key in keys]
        chosen = [producer._partition(pipeline.topic, None, None, None, key, None) for key in keys]
        assert named == chosen and len(set(named)) == len(partitions)
    finally:
        await producer.stop()
