"""The AsyncAPI 3.1 document for downstream teams, generated from the contract registry (`make contracts`)."""

from __future__ import annotations

from typing import Any

from pmo_events.asyncapi.channels import KAFKA_BINDING, SECURITY_SCHEMES, channels_and_operations, servers
from pmo_events.asyncapi.examples import WHEN, event_id, example
from pmo_events.asyncapi.headers import CE_HEADERS, CE_HEADERS_SCHEMA, DLQ_HEADERS, DLQ_HEADERS_SCHEMA, headers_of
from pmo_events.asyncapi.schemas import wire_schema
from pmo_events.asyncapi.streams import stream_of
from pmo_events.contracts import registry
from pmo_events.contracts.base import Event

VERSION = "3.1.0"
DESCRIPTION = """Every decision the PMO backend takes is an immutable event, published on Kafka as a
CloudEvent 1.0 in binary mode and kept forever, so a subscriber can read the whole history from
offset 0 at any time. Start with `docs/subscribing.md`.

- One topic per producing service (`pmo.<service>.events`); the record key is the stream id
  (`ce_subject`), so the events of one proposal, portfolio, project or resource are in one partition,
  in order. Their `ce_sequence` counts 1, 2, 3 ... per stream: skip what you already applied.
- Read with a consumer group of your own (never a `pmo-*` group: those are the services').
- The value is the JSON payload of the contract named by `ce_type`. Money and every other decimal is a
  string (`"120000.00"`), never a JSON number; times are UTC RFC 3339; dates ISO 8601.
- Within a major version fields are only added (optional); a breaking change is a new `.v<N+1>` type.
  Ignore fields and headers you do not know."""


def build() -> dict[str, Any]:
    current = {t: c for t, c in registry.classes().items() if not t.startswith("pmo.test.")}
    # Superseded major versions are still on the topics (kept forever): a subscriber reading from offset 0
    # meets them, so they are described too.
    published = dict(sorted({**current, **registry.superseded()}.items()))
    schemas: dict[str, Any] = {CE_HEADERS_SCHEMA: CE_HEADERS, DLQ_HEADERS_SCHEMA: DLQ_HEADERS}
    messages = {_key(t): _message(cls, schemas, superseded=t not in current) for t, cls in published.items()}
    channels, operations, extra_messages = channels_and_operations(
        {t: (c.service, _key(t)) for t, c in published.items()}
    )
    messages.update(extra_messages)
    return {
        "asyncapi": VERSION,
        "info": {"title": "PMO backend events", "version": "1.3.0", "description": DESCRIPTION},
        "defaultContentType": "application/json",
        "servers": servers(),
        "channels": channels,
        "operations": operations,
        "components": {
            "messages": messages,
            "schemas": dict(sorted(schemas.items())),
            "securitySchemes": SECURITY_SCHEMES,
        },
    }


def _key(type_name: str) -> str:
    return type_name.replace(".", "_")


def _message(cls: type[Event], schemas: dict[str, Any], *, superseded: bool = False) -> dict[str, Any]:
    type_name = cls.type_name()
    stream = stream_of(cls)
    schema = wire_schema(cls)
    for name, definition in schema.pop("$defs", {}).items():
        if schemas.setdefault(name, definition) != definition:
            raise ValueError(f"two contracts define different schemas named {name}")
    schemas[_key(type_name)] = schema
    payload = example(cls)
    doc = (cls.__doc__ or "").strip()
    if superseded:
        doc += (
            "\n\nNo longer published: recorded before its next major version and still on the topic. Read it as "
            "the next version would carry it (the services do)."
        )
    return {
        "name": type_name,
        "title": cls.event_name,
        "summary": doc.splitlines()[0] if doc else cls.event_name,
        "description": f"{doc}\n\nKey and `ce_subject`: {stream.meaning}, payload field `{stream.subject_field}` "
        f"(`ce_streamtype` `{stream.type}`).".strip(),
        "contentType": "application/json",
        "headers": headers_of(type_name, cls.service, stream.type),
        "payload": {"$ref": f"#/components/schemas/{_key(type_name)}"},
        "correlationId": {"location": "$message.header#/ce_correlationid"},
        "bindings": {
            "kafka": {
                "key": {"type": "string", "description": f"= ce_subject: {stream.meaning}"},
                **KAFKA_BINDING,
            }
        },
        "examples": [{"name": cls.event_name, "headers": _headers(cls, stream.type, payload[stream.subject_field]),
                      "payload": payload}],
    }  # fmt: skip


def _headers(cls: type[Event], stream_type: str, subject: str) -> dict[str, str]:
    return {
        "ce_specversion": "1.0",
        "ce_id": event_id(cls.type_name()),
        "ce_source": f"/pmo/{cls.service}",
        "ce_type": cls.type_name(),
        "ce_time": WHEN.isoformat().replace("+00:00", "Z"),
        "ce_subject": subject,
        "ce_sequence": "3",
        "ce_streamtype": stream_type,
        "ce_actor": "alice",
        "ce_correlationid": "9ac7e5aa6a6945ce853cde40515f7edf",
        "ce_traceparent": "00-28027008e4216d361a6227cb2bbeb704-22ac543212a2bef1-01",
        "content-type": "application/json",
    }
