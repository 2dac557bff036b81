"""The Kafka headers of every record, as JSON Schema: the CloudEvents attributes of an event, and what a
dead-letter record adds to the headers it copies."""

from __future__ import annotations

from typing import Any

from pmo_events.asyncapi.streams import STREAMS
from pmo_events.runtime.subscription import DEAD_LETTER_REASONS

CE_HEADERS_SCHEMA = "CloudEventHeaders"
DLQ_HEADERS_SCHEMA = "DeadLetterHeaders"
CE_HEADERS: dict[str, Any] = {
    "type": "object",
    "title": "CloudEvents 1.0 attributes (Kafka binary mode)",
    "description": "Every attribute travels as a `ce_*` header (UTF-8 text); the record value is the JSON "
    "payload and the record key equals `ce_subject`. Ignore headers you do not know: more may be added.",
    "required": ["ce_specversion", "ce_id", "ce_source", "ce_type", "ce_time", "ce_subject", "ce_sequence",
                 "content-type"],
    "properties": {
        "ce_specversion": {"type": "string", "const": "1.0", "description": "CloudEvents version."},
        "ce_id": {"type": "string", "format": "uuid", "description": "The event's id, unique and stable: a "
                  "record delivered again (retry, republish after a broker loss) has the same id. Deduplicate on it "
                  "or on (ce_source, ce_subject, ce_sequence)."},
        "ce_source": {"type": "string", "pattern": "^/pmo/[a-z]+$", "description": "The producing service, "
                      "`/pmo/<service>`; a topic carries one source only."},
        "ce_type": {"type": "string", "pattern": "^pmo\\.[a-z]+\\.[A-Za-z]+\\.v[0-9]+$",
                    "description": "`pmo.<service>.<EventName>.v<major>`: selects the payload schema."},
        "ce_time": {"type": "string", "format": "date-time", "description": "When it happened, UTC (RFC 3339)."},
        "ce_subject": {"type": "string", "description": "The id of the stream (aggregate) the event belongs to; "
                       "also the record key, so a stream's events share one partition, in order."},
        "ce_sequence": {"type": "string", "pattern": "^[1-9][0-9]*$", "description": "Position of the event in "
                        "its stream (1, 2, 3 ... without gaps), as text. Applied last = n: skip a record at n or "
                        "below (a duplicate), wait for n + 1."},
        "ce_streamtype": {"type": "string", "enum": [stream.type for stream in STREAMS],
                          "description": "The kind of stream `ce_subject` names."},
        "ce_actor": {"type": "string", "description": "Who caused it: the subject of the caller's token, or, for "
                     "an event another event caused, that event's actor."},
        "ce_correlationid": {"type": "string", "maxLength": 64, "description": "Shared by every event one request "
                             "caused, across services: the client's `X-Correlation-ID`, else the request id."},
        "ce_causationid": {"type": "string", "description": "The `ce_id` of the event that caused this one "
                           "(absent when a request caused it)."},
        "ce_traceparent": {"type": "string", "pattern": "^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$",
                           "description": "W3C trace context of the span that produced the event: continue it to "
                           "join the producer's trace."},
        "ce_signature": {"type": "string", "contentEncoding": "base64", "description": "The producer's Ed25519 "
                         "signature (base64) over ce_id, ce_type, ce_source, ce_subject, ce_sequence, ce_time, "
                         "ce_actor, ce_correlationid, ce_causationid and the SHA-256 of the value (the exact bytes: "
                         "docs/subscribing.md, Authenticity). The services "
                         "refuse (dead-letter) any event without a valid one from the topic's owner."},
        "ce_signaturekeyid": {"type": "string", "pattern": "^[0-9a-f]{16}$", "description": "Which of the "
                              "producer's public keys verifies `ce_signature`: the first 16 hex digits of the "
                              "SHA-256 of the raw Ed25519 public key (two keys are valid while one is rotated)."},
        "content-type": {"type": "string", "const": "application/json", "description": "CloudEvents "
                         "`datacontenttype`: the value is a UTF-8 JSON object."},
        "pmo_batchid": {"type": "string", "pattern": "^[0-9a-f]{32}$", "description": "Since 1.2.0: the relay "
                        "batch this record was published in (the records one relay round sent to this partition, "
                        "in order). Every record still has its own `ce_signature`; the batch signature lets a "
                        "consumer holding the whole batch verify one signature for all of it (docs/subscribing.md, "
                        "Authenticity). Absent on records published before it and on records of no batch (a relay "
                        "round's only record for its partition)."},
        "pmo_batchindex": {"type": "string", "pattern": "^(0|[1-9][0-9]*)$", "description": "Since 1.2.0: the "
                           "record's place in its batch, 0 to `pmo_batchcount` - 1, at consecutive offsets."},
        "pmo_batchcount": {"type": "string", "pattern": "^[1-9][0-9]*$", "description": "Since 1.2.0: how many "
                           "records the batch holds."},
        "pmo_batchsignature": {"type": "string", "contentEncoding": "base64", "description": "Since 1.2.0, on "
                               "the batch's last record only: the producer's Ed25519 signature (base64) over the "
                               "text `pmo-batch-v1` and `pmo_batchid` (each prefixed by its length, 4 bytes "
                               "big-endian), then the record count as 4 bytes big-endian, then the SHA-256 of the "
                               "bytes each record's `ce_signature` covers, in index order. It "
                               "authenticates the records of a batch met whole and in order; anything else is "
                               "verified record by record."},
        "pmo_batchsignaturekeyid": {"type": "string", "pattern": "^[0-9a-f]{16}$", "description": "Since 1.2.0, "
                                    "beside `pmo_batchsignature`: which of the producer's public keys verifies it "
                                    "(as `ce_signaturekeyid`)."},
    },
}  # fmt: skip

DLQ_HEADERS: dict[str, Any] = {
    "type": "object",
    "title": "Dead-letter headers",
    "description": "The headers of the original record, copied unchanged (for an event: its `ce_*` headers), "
    "plus these. The key and value are the original record's.",
    "required": ["pmo_dlq_reason", "pmo_dlq_error", "pmo_dlq_consumer", "pmo_dlq_topic", "pmo_dlq_partition",
                 "pmo_dlq_offset"],
    "properties": {
        "pmo_dlq_reason": {"type": "string", "enum": list(DEAD_LETTER_REASONS), "description": "Why, in one "
                           "word (the label `reason` of `pmo_subscription_dead_letters_total`): `malformed_envelope` "
                           "is not a CloudEvent this system can read, `undecodable` a record the Kafka client "
                           "could not read at all (its key, value and headers are then empty), `apply_failed` was "
                           "refused by the consumer; "
                           "not authentic: `foreign_source` (not the topic owner's ce_source), `foreign_type` (not "
                           "a type the owner publishes), `unsigned`, `unknown_key` (not a key of the owner), "
                           "`bad_signature`."},
        "pmo_dlq_error": {"type": "string", "maxLength": 2000, "description": "The error, for a person."},
        "pmo_dlq_consumer": {"type": "string", "description": "The group that gave up on it (`pmo-<service>`)."},
        "pmo_dlq_topic": {"type": "string", "description": "Where the record was read."},
        "pmo_dlq_partition": {"type": "string", "pattern": "^[0-9]+$"},
        "pmo_dlq_offset": {"type": "string", "pattern": "^[0-9]+$"},
        "pmo_dlq_last_offset": {"type": "string", "pattern": "^[0-9]+$", "description": "On an `undecodable` dead "
                                "letter only (listed here since 1.3.0; sent before): the last offset of the "
                                "unreadable record batch it stands for, from `pmo_dlq_offset` on (one dead letter "
                                "for the whole batch)."},
    },
}  # fmt: skip


def headers_of(type_name: str, service: str, stream_type: str) -> dict[str, Any]:
    """One message's headers: the common attributes, with its own type, source and stream type pinned."""
    return {
        "allOf": [
            {"$ref": f"#/components/schemas/{CE_HEADERS_SCHEMA}"},
            {
                "type": "object",
                "properties": {
                    "ce_type": {"const": type_name},
                    "ce_source": {"const": f"/pmo/{service}"},
                    "ce_streamtype": {"const": stream_type},
                },
            },
        ]
    }
