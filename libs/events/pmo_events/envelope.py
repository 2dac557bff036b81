"""CloudEvents 1.0 in Kafka binary mode: the one way an event travels between services."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import MISSING, dataclass, field, fields
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


#: `data` of an event read back from a table and not decoded yet (never handed out: see `_stored_data`).
_UNREAD: dict[str, Any] = {}


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
    #: The payload as JSON text, when the event was read back from a table (`stored`) or recorded by an append
    #: (`recorded`): `data` is then decoded from it when first asked for.
    text: str | None = field(default=None, compare=False, repr=False)
    #: The decoded contract, kept after the first `decode()` (contracts are frozen, so it is shared).
    _decoded: Event | None = field(default=None, init=False, compare=False, repr=False)

    @classmethod
    def stored(cls, text: str, **attributes: Any) -> RecordedEvent:
        """An event read back from a table with its payload as the JSON text stored: `data` is decoded from
        it when first asked for, and `decode()` validates the contract straight from the text (a replay of
        many events makes no dict of a payload it only decodes)."""
        return cls(data=_UNREAD, text=text, **attributes)

    @classmethod
    def of(cls, event: Event, **attributes: Any) -> RecordedEvent:
        """A producer's own event as it records it: `data` is the contract's JSON and `decode()` answers the
        contract itself (validated when it was made; decoding its JSON again gives an equal one), so the
        inline views and policies of the command that made it do not validate it again."""
        type_name = event.type_name()
        recorded = cls(type=type_name, data=event.model_dump(mode="json"), **attributes)
        if registry.is_current(type_name, type(event)):  # an older version is upcast on decode, as when read
            object.__setattr__(recorded, "_decoded", event)
        return recorded

    @classmethod
    def recorded(
        cls,
        event: Event,
        event_id: str,
        source: str,
        stream_id: str,
        stream_type: str | None,
        sequence: int,
        time: datetime,
        actor: str | None,
        correlation_id: str | None,
        causation_id: str | None,
        traceparent: str | None,
    ) -> RecordedEvent:
        """`of` with every attribute an append gives, in this order: the same event, made without the keyword
        arguments and the frozen dataclass's `__init__` (an append makes one per event it records). Its payload
        is kept as the JSON text pydantic's serializer writes (the same bytes as `dumps(model_dump(mode="json"))`:
        `test_an_event_an_append_records_is_the_one_of_gives`), which `payload_bytes` answers and `data` is
        decoded from when first asked for: an append needs the JSON (the record's value, the row's payload),
        rarely the dict (3.4 against 9.2 µs per event, 2026-12-01)."""
        type_name = event.type_name()
        recorded = _recorded(
            (
                event_id, type_name, source, stream_id, sequence, time, _UNREAD,
                actor, correlation_id, causation_id, traceparent, stream_type,
                event.__pydantic_serializer__.to_json(event).decode(),
            )
        )  # fmt: skip
        if registry.is_current(type_name, type(event)):
            _DECODED_SLOT.__set__(recorded, event)
        return recorded

    def at_position(self, position: int) -> RecordedEvent:
        """This event at its store position, keeping its decoded contract (and a stored event's undecoded
        text): a copy of every slot, without `dataclasses.replace` (an append makes one per event)."""
        return _at_position(self, position)

    def decode(self) -> Event:
        """The typed contract, upcast from older versions when needed; validated once per event."""
        if self._decoded is None:
            if self.text is not None and _DATA_SLOT.__get__(self, RecordedEvent) is _UNREAD:
                decoded = registry.decode_json(self.type, self.text)
            else:
                decoded = registry.decode(self.type, self.data)
            object.__setattr__(self, "_decoded", decoded)
        return self._decoded  # type: ignore[return-value]

    def payload_bytes(self) -> bytes:
        if self.raw is not None:
            return self.raw
        if self.text is not None and _DATA_SLOT.__get__(self, RecordedEvent) is _UNREAD:
            return self.text.encode()
        return dumps(self.data)


#: The slot holding `data`; the `data` attribute itself decodes a stored event's text on first read.
_DATA_SLOT: Any = RecordedEvent.__dict__["data"]


def _stored_data(event: RecordedEvent) -> dict[str, Any]:
    data = _DATA_SLOT.__get__(event, RecordedEvent)
    if data is _UNREAD:
        data = loads(event.text)  # type: ignore[arg-type]
        _DATA_SLOT.__set__(event, data)
    return data


setattr(RecordedEvent, "data", property(_stored_data, _DATA_SLOT.__set__, doc="The payload as JSON values."))  # noqa: B010


def stored_reader(columns: tuple[str, ...]) -> Callable[[Sequence[Any]], RecordedEvent]:
    """`RecordedEvent.stored` for rows of a table read as tuples whose values are `columns` in order (`text`
    names the payload's JSON text): the same event, made without the keyword arguments and the frozen
    dataclass's `__init__` (a rebuild makes one per stored event; this is about three times as fast).
    Every slot is set: a column, or the field's default; `data` is decoded from `text` when first asked for.
    """
    every = {f.name: f for f in fields(RecordedEvent)}
    if wrong := (set(columns) - set(every)) | ({"data"} & set(columns)) | ({"text"} - set(columns)):
        raise ValueError(f"a stored event's columns are its fields, with its payload as text: {sorted(wrong)}")
    if missing := [n for n, spec in every.items() if n not in columns and n != "data" and spec.default is MISSING]:
        raise ValueError(f"a stored event needs its {missing[0]}")
    return _maker(columns, {"data": _UNREAD})


def _maker(columns: tuple[str, ...], defaults: dict[str, Any]) -> Callable[[Sequence[Any]], RecordedEvent]:
    """A function making a `RecordedEvent` of a tuple of `columns` (field names; `data` as `_DATA_SLOT`), the
    other fields at `defaults` or their own defaults, without the frozen dataclass's `__init__`."""
    defaults = defaults | {
        f.name: f.default for f in fields(RecordedEvent) if f.name not in columns and f.name not in defaults
    }
    namespace: dict[str, Any] = {"_new": object.__new__, "_cls": RecordedEvent, "_defaults": defaults}
    lines = ["def read(row):", f"    {', '.join(f'v{i}' for i in range(len(columns)))}, = row", "    e = _new(_cls)"]
    for i, name in enumerate(columns):
        namespace[f"set_{name}"] = _slot(name).__set__
        lines.append(f"    set_{name}(e, v{i})")
    for name in defaults:
        namespace[f"set_{name}"] = _slot(name).__set__
        lines.append(f"    set_{name}(e, _defaults[{name!r}])")
    lines.append("    return e")
    exec("\n".join(lines), namespace)  # fixed text, built from the dataclass's own field names
    return namespace["read"]


def _slot(name: str) -> Any:
    return _DATA_SLOT if name == "data" else RecordedEvent.__dict__[name]


#: A producer's own event as it records it (`RecordedEvent.recorded`): every field it sets, in this order.
_recorded = _maker(
    (
        "event_id", "type", "source", "stream_id", "sequence", "time", "data", "actor", "correlation_id",
        "causation_id", "traceparent", "stream_type", "text",
    ),
    {},
)  # fmt: skip
_DECODED_SLOT: Any = RecordedEvent.__dict__["_decoded"]


def _copier() -> Callable[[RecordedEvent, int], RecordedEvent]:
    """A function answering a copy of an event with another `position`: every slot copied as it is (`data`
    through its slot, so a stored event's text stays undecoded), without the frozen dataclass's `__init__`."""
    names = [f.name for f in fields(RecordedEvent)]
    namespace: dict[str, Any] = {"_new": object.__new__, "_cls": RecordedEvent}
    lines = ["def at(event, position):", "    e = _new(_cls)"]
    for name in names:
        slot = _slot(name)
        namespace[f"get_{name}"], namespace[f"set_{name}"] = slot.__get__, slot.__set__
        value = "position" if name == "position" else f"get_{name}(event)"
        lines.append(f"    set_{name}(e, {value})")
    lines.append("    return e")
    exec("\n".join(lines), namespace)  # fixed text, built from the dataclass's own field names
    return namespace["at"]


_at_position = _copier()

#: A consumed record's event (`from_header_map`): every field it sets, in this order; the rest at their defaults.
_consumed = _maker(
    (
        "event_id", "type", "source", "stream_id", "sequence", "time", "data", "actor", "correlation_id",
        "causation_id", "traceparent", "stream_type", "topic", "partition", "offset", "raw",
    ),
    {},
)  # fmt: skip


def to_kafka(event: RecordedEvent) -> KafkaMessage:
    """The binary-mode record of `event`: what the SDK's `to_binary` writes for a `CloudEvent` of its
    attributes, built directly when they are plainly valid (non-empty strings, an aware time), else by the
    SDK, which refuses what is not valid. The SDK's object and its validation cost about what signing the
    record does, on every append."""
    if not (event.event_id and event.source and event.type and event.stream_id and event.time.tzinfo is not None):
        return _to_kafka_by_sdk(event)
    time = event.time.isoformat()
    if time.endswith("+00:00"):
        time = time[:-6] + "Z"
    headers = {
        "ce_id": event.event_id.encode(),
        "ce_source": event.source.encode(),
        "ce_type": event.type.encode(),
        "ce_subject": event.stream_id.encode(),
        "ce_time": time.encode(),
        "content-type": _CONTENT_TYPE_HEADER,
        "ce_sequence": str(event.sequence).encode(),
    }
    for name, value in (
        ("ce_actor", event.actor),
        ("ce_correlationid", event.correlation_id),
        ("ce_causationid", event.causation_id),
        ("ce_traceparent", event.traceparent),
        ("ce_streamtype", event.stream_type),
    ):
        if value:
            headers[name] = value.encode()
    headers["ce_specversion"] = b"1.0"
    return KafkaMessage(headers=headers, key=event.stream_id.encode(), value=event.payload_bytes())


_CONTENT_TYPE_HEADER = CONTENT_TYPE.encode()


def _to_kafka_by_sdk(event: RecordedEvent) -> KafkaMessage:
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
    `MalformedEnvelope` naming what is wrong.

    A record in the shape every producer here writes is read directly from its headers (`_attributes`,
    checking what the SDK's `from_binary` and `CloudEvent` check); anything else goes through the SDK, so a
    malformed record is refused as before, with the SDK's message. A `ce_` header whose name is not in lower
    case is refused (the SDK would read it): a signature covers the lower-case headers only."""
    return from_header_map(key, value, header_map(headers), topic=topic, partition=partition, offset=offset)


def from_header_map(
    key: bytes | None,
    value: bytes | None,
    headers: dict[str, bytes],
    *,
    topic: str | None = None,
    partition: int | None = None,
    offset: int | None = None,
) -> RecordedEvent:
    """`from_kafka` of a record whose headers are already a `header_map` (a consumer reads them once, for the
    event and its signature)."""
    try:
        attributes = _attributes(headers, key)
        if attributes is None:
            cloud_event = from_binary(KafkaMessage(headers, key, value or b""), FORMAT)
            attributes, data = cloud_event.get_attributes(), cloud_event.get_data()
        else:
            data = orjson.loads(value) if value else None  # what `OrjsonFormat.read_data` does
        if not isinstance(data, dict):
            raise MalformedEnvelope("payload is not a JSON object")
        subject = attributes.get("subject")
        sequence = attributes.get("sequence")
        if not subject or sequence is None:
            raise MalformedEnvelope("missing ce_subject or ce_sequence")
        time = attributes.get("time") or datetime.now(UTC)
        get = attributes.get
        return _consumed(  # a RecordedEvent of these fields in `_consumed`'s order, without the dataclass's __init__
            (
                attributes["id"],
                attributes["type"],
                attributes["source"],
                subject,
                int(sequence),
                time if time.tzinfo else time.replace(tzinfo=UTC),
                data,
                get("actor"),
                get("correlationid"),
                get("causationid"),
                get("traceparent"),
                get("streamtype"),
                topic,
                partition,
                offset,
                value,
            )
        )
    except MalformedEnvelope:
        raise
    except Exception as exc:  # the SDK raises several types; all mean "not readable"
        raise MalformedEnvelope(f"{type(exc).__name__}: {exc}") from exc


#: `ce_time` as producers write it (`to_binary`: ISO 8601, `Z` for UTC), which `fromisoformat` reads exactly.
_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,6})?(?:Z|[+-]\d\d:\d\d)\Z", re.ASCII)
_EXTENSION_NAME = re.compile(r"[a-z0-9]+\Z", re.ASCII)
_REQUIRED = ("id", "source", "type")
_NOT_EMPTY_IF_PRESENT = ("subject", "datacontenttype", "dataschema")
_CORE = frozenset(("id", "source", "type", "specversion", "datacontenttype", "dataschema", "subject", "time"))
#: Core attributes and the extensions producers here write: valid names, no need to match them each time.
_KNOWN = _CORE | {
    "sequence", "actor", "correlationid", "causationid", "traceparent", "streamtype", "signature",
    "signaturekeyid", "partitionkey",
}  # fmt: skip
#: The headers producers here write, by exact name, and the attribute each holds: read without lowering and
#: testing the name (any other header takes the general way, the same as before).
_HEADER_ATTRIBUTES = {f"ce_{name}": name for name in _KNOWN if name != "partitionkey"} | {
    "content-type": "datacontenttype"
}


def _attributes(headers: Mapping[str, bytes], key: bytes | None) -> dict[str, Any] | None:
    """A CloudEvents 1.0 record's attributes read from its headers, as `from_binary` reads them; None when
    the record is anything but plainly valid (the caller then asks the SDK, which refuses it or reads it)."""
    attributes: dict[str, Any] = {}
    known = _HEADER_ATTRIBUTES.get
    try:
        for name, raw in headers.items():
            text = raw.decode()  # the SDK decodes every header, and refuses the record when one is not UTF-8
            attribute = known(name)
            if attribute is not None:
                attributes[attribute] = text
                continue
            lower = name.lower()
            if lower.startswith("ce_"):
                if lower != name:
                    raise MalformedEnvelope(f"header {name!r}: CloudEvent attribute headers are lower case")
                attributes[name[3:]] = text
            elif lower == "content-type":
                attributes["datacontenttype"] = text
        if key is not None:
            attributes["partitionkey"] = key.decode()
    except UnicodeDecodeError:
        return None
    if attributes.setdefault("specversion", "1.0") != "1.0":
        return None
    get = attributes.get
    for name in _REQUIRED:
        if not get(name):
            return None
    for name in _NOT_EMPTY_IF_PRESENT:
        if name in attributes and not attributes[name]:
            return None
    for name in attributes:
        if name not in _KNOWN and (name == "data" or not _EXTENSION_NAME.match(name)):
            return None
    if "time" in attributes:
        text = attributes["time"]
        if not _TIME.match(text):
            return None
        try:
            attributes["time"] = datetime.fromisoformat(text)
        except ValueError:
            return None
    return attributes
