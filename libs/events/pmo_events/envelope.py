"""CloudEvents 1.0 in Kafka binary mode: the one way an event travels between services."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import orjson
from cloudevents.core.bindings.kafka import KafkaMessage, from_binary, to_binary
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent

from pmo_events.contracts.base import Event, registry

CONTENT_TYPE = "application/json"


def dumps(value: Any) -> bytes:
    """The fast JSON codec used for payloads everywhere (Decimal and dates as strings)."""
    return orjson.dumps(value, default=_default)


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


loads = orjson.loads


class OrjsonFormat(JSONFormat):
    """The SDK's JSON format with orjson for payloads; bytes pass through untouched."""

    def read_data(self, body: bytes, datacontenttype: str | None) -> Any:
        if not body:
            return None
        return orjson.loads(body)


FORMAT = OrjsonFormat()


@dataclass(frozen=True, slots=True)
class RecordedEvent:
    """An event as stored and as published: payload plus who/when/why metadata."""

    event_id: str
    type: str
    source: str
    stream_id: str
    sequence: int
    time: datetime
    data: dict[str, Any]
    actor: str | None = None
    correlation_id: str | None = None
    causation_id: str | None = None
    traceparent: str | None = None
    stream_type: str | None = None
    position: int | None = None
    #: Where a consumed event was read from (set by subscriptions).
    topic: str | None = None
    partition: int | None = None
    offset: int | None = None
    raw: bytes | None = field(default=None, compare=False, repr=False)
    #: The decoded contract, kept after the first `decode()` (contracts are frozen, so it is shared).
    _decoded: Event | None = field(default=None, init=False, compare=False, repr=False)

    def decode(self) -> Event:
        """The typed contract, upcast from older versions when needed; validated once per event."""
        if self._decoded is None:
            object.__setattr__(self, "_decoded", registry.decode(self.type, self.data))
        return self._decoded  # type: ignore[return-value]

    def payload_bytes(self) -> bytes:
        return self.raw if self.raw is not None else dumps(self.data)


def to_kafka(event: RecordedEvent) -> KafkaMessage:
    attributes: dict[str, Any] = {
        "id": event.event_id,
        "source": event.source,
        "type": event.type,
        "subject": event.stream_id,
        "time": event.time,
        "datacontenttype": CONTENT_TYPE,
        "sequence": str(event.sequence),
    }
    optional = {
        "actor": event.actor,
        "correlationid": event.correlation_id,
        "causationid": event.causation_id,
        "traceparent": event.traceparent,
        "streamtype": event.stream_type,
    }
    attributes.update({k: v for k, v in optional.items() if v})
    cloud_event = CloudEvent(attributes, event.payload_bytes())
    return to_binary(cloud_event, FORMAT, key_mapper=lambda _: event.stream_id.encode())


class MalformedEnvelope(ValueError):
    """A Kafka record that is not a CloudEvent this system can read."""


def header_map(headers: Any) -> dict[str, bytes]:
    """A record's headers (a list of pairs, as aiokafka gives them) as a mapping; the last value wins."""
    if isinstance(headers, Mapping):
        return {str(name): bytes(v) for name, v in headers.items() if v is not None}
    return {name: bytes(v) for name, v in (headers or ()) if v is not None}


def from_kafka(
    key: bytes | None,
    value: bytes | None,
    headers: Any,
    *,
    topic: str | None = None,
    partition: int | None = None,
    offset: int | None = None,
) -> RecordedEvent:
    """Parse a binary-mode record (read at `topic`, `partition`, `offset` when given); raises
    `MalformedEnvelope` naming what is wrong."""
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
            topic=topic,
            partition=partition,
            offset=offset,
            raw=value,
        )
    except MalformedEnvelope:
        raise
    except Exception as exc:  # the SDK raises several types; all mean "not readable"
        raise MalformedEnvelope(f"{type(exc).__name__}: {exc}") from exc
