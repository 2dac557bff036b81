"""`from_kafka` reads a binary-mode record's headers directly: it must read and refuse exactly what the
CloudEvents SDK reads and refuses (the reference below is the SDK-only parse it replaced)."""

from __future__ import annotations

from dataclasses import fields
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from cloudevents.core.bindings.kafka import KafkaMessage, from_binary

from pmo_events.envelope import (
    FORMAT,
    MalformedEnvelope,
    RecordedEvent,
    _attributes,
    _to_kafka_by_sdk,
    from_kafka,
    header_map,
    to_kafka,
)


def sdk_from_kafka(key: bytes | None, value: bytes | None, headers: Any) -> RecordedEvent:
    """The SDK-only parse (`from_kafka` before it read headers itself), kept as the reference."""
    headers = header_map(headers)
    try:
        cloud_event = from_binary(KafkaMessage(headers, key, value or b""), FORMAT)
        data = cloud_event.get_data()
        if not isinstance(data, dict):
            raise MalformedEnvelope("payload is not a JSON object")
        subject = cloud_event.get_subject()
        sequence = cloud_event.get_extension("sequence")
        if not subject or sequence is None:
            raise MalformedEnvelope("missing ce_subject or ce_sequence")
        time = cloud_event.get_time() or datetime.now(UTC)
        return RecordedEvent(
            event_id=cloud_event.get_id(),
            type=cloud_event.get_type(),
            source=cloud_event.get_source(),
            stream_id=subject,
            sequence=int(sequence),
            time=time if time.tzinfo else time.replace(tzinfo=UTC),
            data=data,
            actor=cloud_event.get_extension("actor"),
            correlation_id=cloud_event.get_extension("correlationid"),
            causation_id=cloud_event.get_extension("causationid"),
            traceparent=cloud_event.get_extension("traceparent"),
            stream_type=cloud_event.get_extension("streamtype"),
            raw=value,
        )
    except MalformedEnvelope:
        raise
    except Exception as exc:
        raise MalformedEnvelope(f"{type(exc).__name__}: {exc}") from exc


def outcome(parse: Any, key: bytes | None, value: bytes | None, headers: dict[str, Any]) -> Any:
    try:
        event = parse(key, value, headers)
    except MalformedEnvelope as exc:
        return ("malformed", str(exc))
    # A record without `ce_time` gets the time it was read, one without `ce_id` a random id: compare the rest.
    made_up = {name for name, header in (("time", "ce_time"), ("event_id", "ce_id")) if header not in headers}
    return ("event", {k: v for k, v in _fields(event).items() if k not in made_up})


def _fields(event: RecordedEvent) -> dict[str, Any]:
    return {name: getattr(event, name) for name in RecordedEvent.__dataclass_fields__ if name != "_decoded"}


def published(**overrides: Any) -> tuple[bytes | None, bytes, dict[str, Any]]:
    event = RecordedEvent(
        event_id="e-1",
        type="ProposalSubmitted",
        source="/pmo/intake",
        stream_id="proposal-1",
        sequence=3,
        time=datetime(2026, 11, 29, 21, 0, 0, 123456, tzinfo=UTC),
        data={"proposal_id": "proposal-1", "title": "Ünïcode"},
        actor="user-1",
        correlation_id="c-1",
        traceparent="00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        stream_type="proposal",
    )
    message = to_kafka(event)
    headers: dict[str, Any] = {**message.headers, "ce_signature": b"c2ln", "ce_signaturekeyid": b"0123456789abcdef"}
    headers.update(overrides)
    key = message.key if isinstance(message.key, bytes) or message.key is None else message.key.encode()
    return key, message.value, {k: v for k, v in headers.items() if v is not None}


VALUE_CASES: dict[str, bytes | None] = {
    "not json": b"{nope",
    "a list": b"[1, 2]",
    "empty": b"",
    "none": None,
    "a string": b'"text"',
}

HEADER_CASES: dict[str, dict[str, Any]] = {
    "as published": {},
    "no ce_id (the SDK makes one up)": {"ce_id": None},
    "empty ce_id": {"ce_id": b""},
    "no ce_source": {"ce_source": None},
    "empty ce_type": {"ce_type": b""},
    "no ce_subject": {"ce_subject": None},
    "empty ce_subject": {"ce_subject": b""},
    "no ce_sequence": {"ce_sequence": None},
    "ce_sequence not a number": {"ce_sequence": b"three"},
    "specversion 0.3": {"ce_specversion": b"0.3"},
    "specversion 2.0": {"ce_specversion": b"2.0"},
    "no specversion": {"ce_specversion": None},
    "time without a zone": {"ce_time": b"2026-11-29T21:00:00"},
    "time with an offset": {"ce_time": b"2026-11-29T22:00:00.5+01:00"},
    "time with +00:00": {"ce_time": b"2026-11-29T21:00:00+00:00"},
    "time with a space": {"ce_time": b"2026-11-29 21:00:00Z"},
    "time, a date only": {"ce_time": b"2026-11-29"},
    "time at 24:00": {"ce_time": b"2026-11-29T24:00:00Z"},
    "time, month 13": {"ce_time": b"2026-13-29T21:00:00Z"},
    "time, nanoseconds": {"ce_time": b"2026-11-29T21:00:00.123456789Z"},
    "time, not a time": {"ce_time": b"yesterday"},
    "time, non-ASCII digits": {"ce_time": "٢٠٢٦-11-29T21:00:00Z".encode()},
    "no time": {"ce_time": None},
    "header not UTF-8": {"x-other": b"\xff\xfe"},
    "ce_ header not UTF-8": {"ce_actor": b"\xff"},
    "extension with a dash": {"ce_bad-name": b"x"},
    "extension named data": {"ce_data": b"x"},
    "extension, trailing newline": {"ce_abc\n": b"x"},
    "empty extension name": {"ce_": b"x"},
    "empty content-type": {"content-type": b""},
    "empty dataschema": {"ce_dataschema": b""},
    "a dataschema": {"ce_dataschema": b"https://example.org/schema"},
    "unknown extension": {"ce_tenant": b"t-1"},
}


@pytest.mark.parametrize("case", list(HEADER_CASES))
def test_headers_read_as_the_sdk_reads_them(case: str) -> None:
    key, value, headers = published(**HEADER_CASES[case])
    assert outcome(from_kafka, key, value, headers) == outcome(sdk_from_kafka, key, value, headers)


@pytest.mark.parametrize("case", list(VALUE_CASES))
def test_payloads_read_as_the_sdk_reads_them(case: str) -> None:
    key, _, headers = published()
    value = VALUE_CASES[case]
    fast = outcome(from_kafka, key, value, headers)
    assert fast == outcome(sdk_from_kafka, key, value, headers)
    assert fast[0] == "malformed"


def test_keys_read_as_the_sdk_reads_them() -> None:
    _, value, headers = published()
    for key in (None, b"proposal-1", b"\xff"):
        assert outcome(from_kafka, key, value, headers) == outcome(sdk_from_kafka, key, value, headers)
    assert outcome(from_kafka, b"\xff", value, headers)[0] == "malformed"


def test_the_time_is_the_same_instant_and_zone() -> None:
    key, value, headers = published(ce_time=b"2026-11-29T22:00:00.5+01:00")
    time = from_kafka(key, value, headers).time
    assert time == datetime(2026, 11, 29, 21, 0, 0, 500000, tzinfo=UTC)
    assert time.utcoffset() == timedelta(hours=1)
    assert from_kafka(*published()).time.tzinfo == UTC


def test_read_as_published() -> None:
    key, value, headers = published()
    event = from_kafka(key, value, headers, topic="pmo.intake.events", partition=2, offset=7)
    assert (event.event_id, event.type, event.source, event.stream_id, event.sequence) == (
        "e-1", "ProposalSubmitted", "/pmo/intake", "proposal-1", 3,
    )  # fmt: skip
    assert (event.topic, event.partition, event.offset, event.raw) == ("pmo.intake.events", 2, 7, value)
    assert event.data == {"proposal_id": "proposal-1", "title": "Ünïcode"}


def test_a_read_event_has_every_field_the_dataclass_would_give_it() -> None:
    """`from_kafka` makes its event without the dataclass's `__init__`: every slot is set, as `__init__` sets it."""
    key, value, headers = published()
    event = from_kafka(key, value, headers, topic="pmo.intake.events", partition=2, offset=7)
    made = RecordedEvent(**{f.name: getattr(event, f.name) for f in fields(RecordedEvent) if f.init})
    every = [f.name for f in fields(RecordedEvent)]
    assert [getattr(event, name) for name in every] == [getattr(made, name) for name in every]
    assert (event.text, event.position, event._decoded) == (None, None, None)


@pytest.mark.parametrize("case", ["as published", "time with an offset", "a dataschema", "unknown extension"])
def test_a_plainly_valid_record_is_read_without_the_sdk(case: str) -> None:
    key, _, headers = published(**HEADER_CASES[case])
    assert _attributes(header_map(headers), key) is not None


@pytest.mark.parametrize(
    "extra",
    [
        {"CE_ACTOR": b"someone-else"},  # alone: the signature covers `ce_actor`, absent here
        {"CE_SEQUENCE": b"4"},  # beside `ce_sequence`, after it: the last one read wins
        {"Ce_Subject": b"proposal-2"},
        {"CE_ID": b"e-2"},
    ],
)
def test_an_upper_case_attribute_header_is_refused(extra: dict[str, bytes]) -> None:
    """The SDK lower-cases header names; a signature covers the lower-case ones only (`SIGNED_HEADERS`). A
    record with an upper-case `ce_` header could carry an attribute nobody signed (a replay of a genuine
    record under a new sequence or id), so it is refused, whatever the SDK would read."""
    key, value, headers = published(**extra)
    assert outcome(sdk_from_kafka, key, value, headers)[0] == "event"  # what the SDK alone would read
    with pytest.raises(MalformedEnvelope, match="lower case"):
        from_kafka(key, value, headers)


def sdk_to_kafka(event: RecordedEvent) -> KafkaMessage:
    """The SDK-only write (`to_kafka` before it built the headers itself), kept as the reference."""
    return _to_kafka_by_sdk(event)


_WRITTEN: dict[str, dict[str, Any]] = {
    "every attribute": {},
    "no optional attribute": {
        "actor": None,
        "correlation_id": None,
        "causation_id": None,
        "traceparent": None,
        "stream_type": None,
    },
    "empty optional attributes": {"actor": "", "correlation_id": "", "traceparent": ""},
    "another zone, no microseconds": {"time": datetime(2026, 3, 1, 12, 0, tzinfo=timezone(timedelta(hours=-5)))},
    "microseconds": {"time": datetime(2026, 3, 1, 12, 0, 0, 7, tzinfo=UTC)},
    "non-ASCII": {"actor": "zoë", "stream_id": "straße", "data": {"title": "Ünïcode ✓"}},
    "stored text payload": {"text": '{"a": 1}', "data": {"a": 1}},
    "raw payload": {"raw": b'{"b":2}'},
    "large sequence": {"sequence": 2**40},
}


@pytest.mark.parametrize("case", list(_WRITTEN))
def test_a_record_is_written_as_the_sdk_writes_it(case: str) -> None:
    attributes: dict[str, Any] = {
        "event_id": "e-1", "type": "pmo.test.Incremented.v1", "source": "/pmo/test", "stream_id": "s-1",
        "sequence": 7, "time": datetime(2026, 11, 30, 1, 2, 3, 456789, tzinfo=UTC), "data": {"by": 1},
        "actor": "ann", "correlation_id": "corr", "causation_id": "cause", "traceparent": "00-ab-cd-01",
        "stream_type": "counter",
    } | _WRITTEN[case]  # fmt: skip
    event = RecordedEvent(**attributes)
    ours, sdk = to_kafka(event), sdk_to_kafka(event)
    assert (ours.key, list(ours.headers.items()), ours.value) == (sdk.key, list(sdk.headers.items()), sdk.value)


@pytest.mark.parametrize(
    "wrong", [{"event_id": ""}, {"source": ""}, {"type": ""}, {"stream_id": ""}, {"time": datetime(2026, 1, 1)}]
)
def test_what_the_sdk_refuses_to_write_is_still_refused(wrong: dict[str, Any]) -> None:
    attributes: dict[str, Any] = {
        "event_id": "e-1", "type": "t", "source": "/pmo/test", "stream_id": "s-1", "sequence": 1,
        "time": datetime(2026, 1, 1, tzinfo=UTC), "data": {},
    } | wrong  # fmt: skip
    event = RecordedEvent(**attributes)
    try:
        expected: Any = sdk_to_kafka(event)
    except Exception as exc:
        expected = type(exc)
    try:
        got: Any = to_kafka(event)
    except Exception as exc:
        got = type(exc)
    if isinstance(expected, type):
        assert got is expected
    else:
        assert (got.key, got.headers, got.value) == (expected.key, expected.headers, expected.value)
