"""Servers, channels (topics) and operations of the AsyncAPI document: who publishes where, who reads."""

from __future__ import annotations

from typing import Any

from pmo_events.asyncapi.headers import DLQ_HEADERS_SCHEMA
from pmo_events.contracts import TOPICS
from pmo_events.runtime.kafka import EPOCH_TOPIC

KAFKA_BINDING = {"bindingVersion": "0.5.0"}
SECURITY_SCHEMES = {
    "scram": {
        "type": "scramSha512",
        "description": "SASL/SCRAM-SHA-512 over TLS with the credentials of your KafkaUser (Strimzi writes them "
        "to a Secret named after the user, key `password`).",
    }
}
#: The services' own consumer groups per topic (`pmo-<service>`); a test checks them against the services.
CONSUMERS = {
    "intake": ("portfolio", "reporting"),
    "portfolio": ("intake", "resourcing", "reporting"),
    "resourcing": ("reporting",),
}
DEAD_LETTERING = ("intake", "portfolio", "resourcing", "reporting")
KEPT_FOREVER = {"cleanup.policy": ["delete"], "retention.ms": -1}
GROUP_ADVICE = (
    "Subscribers: a consumer group of your own (e.g. `<team>.<purpose>`), `auto.offset.reset=earliest` to "
    "read the whole history on the first run; never a `pmo-*` group, those are the services'."
)


def servers() -> dict[str, Any]:
    return {
        "embedded": {
            "host": "127.0.0.1:{port}",
            "protocol": "kafka",
            "title": "Embedded broker (make run)",
            "description": "Tansu, memory only, on a free port that `make run` prints "
            "(`embedded broker (Tansu, memory only) on 127.0.0.1:PORT`). Its history ends with the process.",
            "variables": {"port": {"default": "9092", "description": "The port `make run` printed."}},
        },
        "compose": {
            "host": "localhost:9094",
            "protocol": "kafka",
            "title": "docker compose",
            "description": "Apache Kafka (KRaft) of `docker compose up`, its HOST listener published on "
            "127.0.0.1:9094 (inside the compose network: `kafka:9092`). Plaintext, development only.",
        },
        "strimzi": {
            "host": "{cluster}-kafka-bootstrap.{namespace}.svc:9093",
            "protocol": "kafka-secure",
            "title": "Kubernetes (Strimzi)",
            "description": "The Strimzi cluster of `deploy/k8s` (by default `pmo-kafka` in namespace `kafka`): TLS "
            "(the cluster's CA) and SCRAM-SHA-512. Ask the platform team for a KafkaUser with read ACLs on the "
            "topics and your own group, and for the producers' public keys (ConfigMap `pmo-event-keys`).",
            "variables": {
                "cluster": {"default": "pmo-kafka", "description": "Name of the `Kafka` resource."},
                "namespace": {"default": "kafka", "description": "Namespace of the Kafka cluster."},
            },
            "security": [{"$ref": "#/components/securitySchemes/scram"}],
        },
    }


def channels_and_operations(
    messages: dict[str, tuple[str, str]],
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """`messages`: type name → (service, message key). Answers channels, operations and the extra messages."""
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for service, topic in sorted(TOPICS.items()):
        refs = {key: {"$ref": f"#/components/messages/{key}"} for s, key in messages.values() if s == service}
        channel = f"{service}Events"
        channels[channel] = _channel(
            topic, refs, f"Every event the {service} service publishes, kept forever. " + GROUP_ADVICE
        )
        operations[f"publish{service.capitalize()}Events"] = _send(
            channel, f"The {service} service publishes its events, in commit order per stream."
        )
        groups = [f"pmo-{c}" for c in CONSUMERS[service]]
        operations[f"consume{service.capitalize()}Events"] = _receive(channel, groups)
    for service in DEAD_LETTERING:
        channel = f"{service}DeadLetters"
        channels[channel] = _channel(
            f"pmo.{service}.deadletter",
            {"deadLetter": {"$ref": "#/components/messages/deadLetter"}},
            f"Records the {service} service's subscriptions could not apply, "
            "with the reason; for operators. The rest of the stream went on.",
        )
        operations[f"deadLetter{service.capitalize()}"] = _send(channel, f"{service} dead-letters a record.")
    channels["brokerEpoch"] = _channel(
        EPOCH_TOPIC,
        {"brokerEpoch": {"$ref": "#/components/messages/brokerEpoch"}},
        "One partition; its first record names the broker's history.",
        partitions=1,
    )
    operations["markBrokerEpoch"] = _send("brokerEpoch", "The first service to find the topic empty writes it.")
    return channels, operations, {"deadLetter": DEAD_LETTER, "brokerEpoch": BROKER_EPOCH}


def _channel(topic: str, messages: dict[str, Any], description: str, *, partitions: int = 3) -> dict[str, Any]:
    binding = {"topic": topic, "partitions": partitions, "topicConfiguration": KEPT_FOREVER, **KAFKA_BINDING}
    return {"address": topic, "description": description, "messages": messages, "bindings": {"kafka": binding}}


def _send(channel: str, summary: str) -> dict[str, Any]:
    return {"action": "send", "channel": {"$ref": f"#/channels/{channel}"}, "summary": summary}


def _receive(channel: str, groups: list[str]) -> dict[str, Any]:
    group = {"type": "string", "enum": groups, "description": "The PMO services' own groups. " + GROUP_ADVICE}
    return {
        "action": "receive",
        "channel": {"$ref": f"#/channels/{channel}"},
        "summary": f"Read by {', '.join(groups)}; downstream systems read it the same way with their own group.",
        "bindings": {"kafka": {"groupId": group, **KAFKA_BINDING}},
    }


DEAD_LETTER = {
    "name": "DeadLetter",
    "title": "Dead-lettered record",
    "summary": "A record a subscription could not apply: the original key, value and headers, plus why.",
    "contentType": "application/octet-stream",
    "headers": {"$ref": f"#/components/schemas/{DLQ_HEADERS_SCHEMA}"},
    "payload": {"description": "The original record value, byte for byte (usually a JSON event payload)."},
    "bindings": {"kafka": {"key": {"type": "string", "description": "The original record's key."}, **KAFKA_BINDING}},
}
BROKER_EPOCH = {
    "name": "BrokerEpoch",
    "title": "Broker epoch",
    "summary": "The first record of pmo.broker.epoch identifies the broker's history.",
    "description": "Written once, by the first service to find the topic empty. When the first record's value "
    "changes, the broker's log was replaced (a rebuilt cluster, the embedded broker restarted): the services "
    "republish their stores and re-read from offset 0, so a subscriber should do the same and skip what it "
    "applied (by `ce_id`, or by `ce_sequence` per stream).",
    "contentType": "text/plain",
    "payload": {"type": "string", "format": "uuid"},
    "examples": [{"name": "epoch", "payload": "0b5e2f1c-7a41-4a55-9b0e-3c8f5d9e2a17"}],
}
