"""A downstream subscriber of the PMO backend's events, written only from docs/asyncapi.json and
docs/subscribing.md: aiokafka for Kafka, the CloudEvents SDK's Kafka binding for the envelope, sqlite3
for what it has applied. It prints one JSON line per event it applies; investment decisions get a
readable summary.

    pip install aiokafka cloudevents cryptography
    python examples/subscriber.py --bootstrap 127.0.0.1:9092 --group acme.portfolio-mirror \
        --verify-keys var/dev-keys/events/public
    # a cluster with TLS and SCRAM (Strimzi): --security-protocol SASL_SSL --ca-file ca.crt \
    #     --sasl-username acme-mirror --sasl-password-file password

What it shows:
- its own consumer group, reading every topic from offset 0 on its first run (`earliest`);
- the CloudEvent from the record (`from_binary`): type, subject (= the record key), sequence, actor;
- effects exactly once: per stream it remembers the last `ce_sequence` applied, in the same SQLite
  transaction as its own data, and skips anything at or below it (a redelivery); only then are the
  Kafka offsets committed, so a crash in between re-reads records it then skips;
- authenticity: with --verify-keys, an event counts only when its topic's owner signed it
  (`ce_signature`, Ed25519, over the headers and the value's digest; docs/subscribing.md);
- money stays text: amounts are decimal strings, parsed with Decimal, never float.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import json
import sqlite3
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer
from aiokafka.helpers import create_ssl_context
from aiokafka.structs import ConsumerRecord
from cloudevents.core.bindings.kafka import KafkaMessage, from_binary
from cloudevents.core.formats.json import JSONFormat
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

TOPICS = ("pmo.intake.events", "pmo.portfolio.events", "pmo.resourcing.events")
DECIDED = "pmo.portfolio.InvestmentDecided.v1"
SIGNED_HEADERS = ("ce_id", "ce_type", "ce_source", "ce_subject", "ce_sequence", "ce_time", "ce_actor",
                  "ce_correlationid", "ce_causationid")  # fmt: skip


class Keys:
    """The producers' public keys (`<service>.pem`, `<service>.<n>.pem` during a rotation) by key id."""

    def __init__(self, folder: str) -> None:
        self.by_id: dict[str, tuple[str, Ed25519PublicKey]] = {}
        for path in sorted(Path(folder).glob("*.pem")):
            key = serialization.load_pem_public_key(path.read_bytes())
            assert isinstance(key, Ed25519PublicKey), path
            raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
            self.by_id[hashlib.sha256(raw).hexdigest()[:16]] = (path.name.split(".")[0], key)

    def problem(self, topic: str, headers: dict[str, bytes], value: bytes) -> str | None:
        """Why the record is not authentic, or None: signed by the service that owns its topic."""
        owner = topic.split(".")[1]  # pmo.<service>.events
        if any(name != name.lower() and name.lower().startswith("ce_") for name in headers):
            # The SDK reads `CE_SEQUENCE` as `sequence`, but the signature covers the lower-case headers only.
            return "a ce_ header not in lower case"
        if headers.get("ce_source") != f"/pmo/{owner}".encode():
            return "not the topic owner's source"
        service, key = self.by_id.get(headers.get("ce_signaturekeyid", b"").decode(), ("", None))
        if key is None or service != owner:
            return "unsigned, or signed with a key that is not the owner's"
        parts = [
            b"pmo-event-signature/v1",
            *(headers.get(h, b"") for h in SIGNED_HEADERS),
            hashlib.sha256(value).digest(),
        ]
        try:
            key.verify(
                base64.b64decode(headers["ce_signature"]), b"".join(len(p).to_bytes(4, "big") + p for p in parts)
            )
        except (InvalidSignature, ValueError):
            return "bad signature"
        return None


class Mirror:
    """The subscriber's own state: the last sequence applied per stream, and the decisions it saw."""

    def __init__(self, path: str) -> None:
        self.db = sqlite3.connect(path)
        self.db.execute("CREATE TABLE IF NOT EXISTS applied (source TEXT, subject TEXT, sequence INT, "
                        "PRIMARY KEY (source, subject))")  # fmt: skip
        self.db.execute("CREATE TABLE IF NOT EXISTS decisions (decision_id TEXT PRIMARY KEY, portfolio_id TEXT, "
                        "proposal_id TEXT, outcome TEXT, approved TEXT, decided_by TEXT)")  # fmt: skip

    def apply(self, source: str, subject: str, sequence: int, event_type: str, data: dict[str, Any]) -> bool:
        """Apply one event once; False for a redelivery (already applied)."""
        with self.db:  # one transaction: the effect and the sequence that records it
            row = self.db.execute("SELECT sequence FROM applied WHERE source=? AND subject=?", (source, subject))
            last = (row.fetchone() or (0,))[0]
            if sequence <= last:
                return False
            if event_type == DECIDED:
                approved = sum((Decimal(p["amount"]) for p in data.get("approved_budget", [])), Decimal(0))
                self.db.execute("INSERT OR REPLACE INTO decisions VALUES (?, ?, ?, ?, ?, ?)",
                                (data["decision_id"], data["portfolio_id"], data["proposal_id"], data["outcome"],
                                 str(approved), data["decided_by"]))  # fmt: skip
            self.db.execute("INSERT OR REPLACE INTO applied VALUES (?, ?, ?)", (source, subject, sequence))
        return True


def headers_of(record: ConsumerRecord[bytes, bytes]) -> dict[str, bytes]:
    return {name: bytes(value) for name, value in record.headers or () if value is not None}


def read(record: ConsumerRecord[bytes, bytes]) -> Any:
    """The CloudEvent in a record (binary mode: attributes in ce_* headers, the JSON payload as value)."""
    return from_binary(
        KafkaMessage(headers=headers_of(record), key=record.key, value=record.value or b""), JSONFormat()
    )


def handle(mirror: Mirror, record: ConsumerRecord[bytes, bytes], keys: Keys | None = None) -> dict[str, Any]:
    if keys is not None:
        problem = keys.problem(record.topic, headers_of(record), record.value or b"")
        if problem:  # never applied: a forged or damaged record changes nothing
            return {"topic": record.topic, "offset": record.offset, "applied": False, "refused": problem}
    event = read(record)
    subject, sequence = event.get_subject(), int(event.get_extension("sequence"))
    applied = mirror.apply(event.get_source(), subject, sequence, event.get_type(), event.get_data())
    line = {"type": event.get_type(), "id": event.get_id(), "subject": subject, "sequence": sequence,
            "key": (record.key or b"").decode(), "actor": event.get_extension("actor"), "applied": applied,
            "topic": record.topic, "partition": record.partition, "offset": record.offset,
            "verified": keys is not None}  # fmt: skip
    if applied and event.get_type() == DECIDED:
        data = event.get_data()
        line["summary"] = (
            f"{data['outcome']} proposal {data['proposal_id']} by {data['decided_by']}: {data['rationale']}"
        )
    return line


async def run(args: argparse.Namespace) -> int:
    mirror = Mirror(args.state)
    keys = Keys(args.verify_keys) if args.verify_keys else None
    consumer = AIOKafkaConsumer(
        *args.topics,
        bootstrap_servers=args.bootstrap,
        group_id=args.group,
        auto_offset_reset="earliest",  # the first run reads the whole history
        enable_auto_commit=False,  # offsets are committed after the effects, never before
        **security(args),
    )
    await consumer.start()
    idle = 0.0
    try:
        while args.idle_exit is None or idle < args.idle_exit:
            batch = await consumer.getmany(timeout_ms=500, max_records=500)
            records = [record for records in batch.values() for record in records]
            idle = idle + 0.5 if not records else 0.0
            for record in records:
                print(json.dumps(handle(mirror, record, keys)), flush=True)
            if records:
                await consumer.commit()
    finally:
        await consumer.stop()
    return 0


def security(args: argparse.Namespace) -> dict[str, Any]:
    """TLS and SASL settings for aiokafka; none for a plaintext broker (`make run`, compose)."""
    options: dict[str, Any] = {"security_protocol": args.security_protocol}
    if args.security_protocol in ("SSL", "SASL_SSL"):
        options["ssl_context"] = create_ssl_context(cafile=args.ca_file)
    if args.security_protocol.startswith("SASL"):
        options.update(sasl_mechanism=args.sasl_mechanism, sasl_plain_username=args.sasl_username,
                       sasl_plain_password=Path(args.sasl_password_file).read_text().strip())  # fmt: skip
    return options


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bootstrap", default="127.0.0.1:9092", help="Kafka bootstrap servers")
    parser.add_argument("--group", required=True, help="your own consumer group (never a pmo-* group)")
    parser.add_argument("--topics", nargs="+", default=list(TOPICS))
    parser.add_argument("--state", default="subscriber.db", help="SQLite file of what was applied")
    parser.add_argument("--idle-exit", type=float, help="stop after this many seconds without records")
    parser.add_argument("--verify-keys", help="folder of the producers' public keys: apply signed events only")
    parser.add_argument("--security-protocol", default="PLAINTEXT",
                        choices=["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"])  # fmt: skip
    parser.add_argument("--ca-file", help="CA of the brokers' certificates (TLS)")
    parser.add_argument("--sasl-mechanism", default="SCRAM-SHA-512", choices=["SCRAM-SHA-512", "PLAIN"])
    parser.add_argument("--sasl-username")
    parser.add_argument("--sasl-password-file", help="a file holding the SASL password")
    return asyncio.run(run(parser.parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
