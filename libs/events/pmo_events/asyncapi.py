"""The AsyncAPI 3.0 document for downstream teams, generated from the registered contracts."""

from __future__ import annotations

import json
import sys
from typing import Any

from pmo_events.contracts import TOPICS, registry

CE_HEADERS = {
    "type": "object",
    "description": "CloudEvents 1.0 binary mode on Kafka: attributes travel as ce_* headers; key = ce_subject.",
    "required": ["ce_id", "ce_source", "ce_type", "ce_specversion", "ce_subject", "ce_time", "ce_sequence"],
    "properties": {
        "ce_id": {"type": "string", "format": "uuid", "description": "Event id; consumers deduplicate on it."},
        "ce_source": {"type": "string", "description": "/pmo/<service>"},
        "ce_type": {"type": "string", "description": "pmo.<service>.<EventName>.v<major>"},
        "ce_specversion": {"type": "string", "const": "1.0"},
        "ce_subject": {"type": "string", "description": "The aggregate (stream) id; also the Kafka key."},
        "ce_time": {"type": "string", "format": "date-time"},
        "ce_sequence": {"type": "string", "description": "Position of the event in its stream, from 1."},
        "ce_actor": {"type": "string", "description": "Who caused it (the token subject)."},
        "ce_correlationid": {"type": "string"},
        "ce_causationid": {"type": "string", "description": "The event or request that caused this one."},
        "ce_streamtype": {"type": "string"},
        "ce_traceparent": {"type": "string", "description": "W3C trace context."},
        "content-type": {"type": "string", "const": "application/json"},
    },
}


def build() -> dict[str, Any]:
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    for service, topic in sorted(TOPICS.items()):
        channel_id = f"{service}Events"
        refs = {}
        for type_name, cls in sorted(registry.classes().items()):
            if cls.service != service:
                continue
            key = type_name.replace(".", "_")
            schema = cls.model_json_schema(ref_template="#/components/schemas/{model}")
            for name, definition in schema.pop("$defs", {}).items():
                schemas.setdefault(name, definition)
            schemas[key] = schema
            messages[key] = {
                "name": type_name,
                "title": cls.event_name,
                "summary": (cls.__doc__ or cls.event_name).strip().splitlines()[0],
                "contentType": "application/json",
                "headers": CE_HEADERS,
                "payload": {"$ref": f"#/components/schemas/{key}"},
            }
            refs[key] = {"$ref": f"#/components/messages/{key}"}
        channels[channel_id] = {
            "address": topic,
            "description": f"Every event the {service} service publishes, kept forever (retention.ms=-1).",
            "messages": refs,
        }
        operations[f"receive{service.capitalize()}Events"] = {
            "action": "receive",
            "channel": {"$ref": f"#/channels/{channel_id}"},
            "summary": f"Subscribe to {topic} with your own consumer group; replay from offset 0 any time.",
        }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "PMO backend events",
            "version": "1.0.0",
            "description": "Published event contracts. Within a major version fields are only added (optional); "
            "a breaking change is a new `.v<N+1>` type.",
        },
        "defaultContentType": "application/json",
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": schemas},
    }


if __name__ == "__main__":
    json.dump(build(), sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")
