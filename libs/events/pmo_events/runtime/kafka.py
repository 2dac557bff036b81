"""Broker settings, topic creation and the broker epoch that tells a consumer its log was reset."""

from __future__ import annotations

import asyncio
import logging
import uuid
from pathlib import Path
from typing import Literal

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.helpers import create_ssl_context
from pydantic import model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

log = logging.getLogger(__name__)

EPOCH_TOPIC = "pmo.broker.epoch"
TOPIC_EXISTS = 36


class KafkaSettings(BaseSettings):
    """`PMO_KAFKA_*`: where the broker is and how this service talks to it."""

    model_config = SettingsConfigDict(env_prefix="PMO_KAFKA_", extra="ignore")

    bootstrap_servers: str = "127.0.0.1:9092"
    topic_partitions: int = 3
    replication_factor: int = 1
    #: `assign`: one replica reads every partition, no group join (fast restarts; the embedded
    #: default). `group`: replicas share partitions through Kafka group membership.
    consumer_mode: Literal["assign", "group"] = "assign"
    #: Real Kafka: turn on. Tansu (the embedded broker) has no InitProducerId, so it stays off there.
    idempotent_producer: bool = False
    fetch_max_wait_ms: int = 5
    session_timeout_ms: int = 10_000
    request_timeout_ms: int = 10_000
    #: How clients talk to the broker: TLS (`SSL`, `SASL_SSL`) and/or SASL (`SASL_PLAINTEXT`, `SASL_SSL`).
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    #: TLS: the CA that signed the broker's certificate (default: the system's CAs), and for mutual TLS this
    #: client's certificate and key (PEM files).
    ssl_ca_file: Path | None = None
    ssl_cert_file: Path | None = None
    ssl_key_file: Path | None = None
    #: SASL: mechanism, user, and the file holding the password (a mounted secret, never the value itself).
    sasl_mechanism: Literal["SCRAM-SHA-512", "PLAIN"] = "SCRAM-SHA-512"
    sasl_username: str | None = None
    sasl_password_file: Path | None = None

    @model_validator(mode="after")
    def _complete_security(self) -> KafkaSettings:
        problems = []
        if self.security_protocol.startswith("SASL") and not (self.sasl_username and self.sasl_password_file):
            problems.append(f"{self.security_protocol} needs PMO_KAFKA_SASL_USERNAME and PMO_KAFKA_SASL_PASSWORD_FILE")
        if (self.ssl_cert_file is None) != (self.ssl_key_file is None):
            problems.append("PMO_KAFKA_SSL_CERT_FILE and PMO_KAFKA_SSL_KEY_FILE go together")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def client_kwargs(self) -> dict[str, object]:
        """What every aiokafka client (producer, consumer, admin) of this service is built with."""
        kwargs: dict[str, object] = {
            "bootstrap_servers": self.bootstrap_servers,
            "request_timeout_ms": self.request_timeout_ms,
            "security_protocol": self.security_protocol,
        }
        if self.security_protocol in ("SSL", "SASL_SSL"):
            kwargs["ssl_context"] = create_ssl_context(
                cafile=self.ssl_ca_file, certfile=self.ssl_cert_file, keyfile=self.ssl_key_file
            )
        if self.security_protocol.startswith("SASL"):
            assert self.sasl_password_file is not None  # checked above
            kwargs["sasl_mechanism"] = self.sasl_mechanism
            kwargs["sasl_plain_username"] = self.sasl_username
            kwargs["sasl_plain_password"] = self.sasl_password_file.read_text().rstrip("\r\n")
        return kwargs


def make_producer(settings: KafkaSettings, client_id: str) -> AIOKafkaProducer:
    return AIOKafkaProducer(
        client_id=client_id,
        acks="all",
        enable_idempotence=settings.idempotent_producer,
        linger_ms=0,
        **settings.client_kwargs(),
    )


async def ensure_topics(
    settings: KafkaSettings, topics: list[str], *, partitions: int | None = None
) -> dict[str, list[int]]:
    """Create missing topics (kept forever) and answer each topic's partitions."""
    admin = AIOKafkaAdminClient(client_id="pmo-admin", **settings.client_kwargs())
    await admin.start()
    try:
        wanted = [
            NewTopic(
                name,
                1 if name == EPOCH_TOPIC else (partitions or settings.topic_partitions),
                settings.replication_factor,
                topic_configs={"retention.ms": "-1"},
            )
            for name in topics
        ]
        existing = set(await admin.list_topics())
        missing = [t for t in wanted if t.name not in existing]
        if missing:
            response = await admin.create_topics(missing)
            for name, code, message in _topic_errors(response):
                if code not in (0, TOPIC_EXISTS):
                    raise RuntimeError(f"cannot create topic {name}: {code} {message}")
        described = await admin.describe_topics(topics)
        return {item["topic"]: sorted(p["partition"] for p in item["partitions"]) for item in described}
    finally:
        await admin.close()


def _topic_errors(response: object) -> list[tuple[str, int, str | None]]:
    out = []
    for entry in getattr(response, "topic_errors", []):
        out.append((entry[0], entry[1], entry[2] if len(entry) > 2 else None))
    return out


class BrokerEpochChanged(Exception):
    """The broker's log was replaced while we were connected: reconnect and start over."""


class EpochWatch:
    """Re-reads the broker epoch every `interval` seconds (or on demand) and raises on a change.

    The periodic read runs beside its caller (a fresh consumer each time: about 10 ms, more on a busy
    machine), so a relay's or a subscription's loop does not stall on it every `interval`: `check()` starts
    the read when one is due and raises (or passes on the read's failure) at the first call after it ended.
    `check(now=True)` reads and compares before it returns."""

    def __init__(self, settings: KafkaSettings, epoch: str, interval: float = 5.0) -> None:
        self.settings = settings
        self.epoch = epoch
        self.interval = interval
        self._next = asyncio.get_running_loop().time() + interval
        self._reading: asyncio.Task[str | None] | None = None

    async def check(self, *, now: bool = False) -> None:
        reading = self._reading
        if reading is not None and reading.done():
            self._reading = None
            self._compare(reading.result())
        loop_time = asyncio.get_running_loop().time()
        if now:
            self.close()
            self._next = loop_time + self.interval
            self._compare(await _read_epoch(self.settings))
        elif loop_time >= self._next and self._reading is None:
            self._next = loop_time + self.interval
            # Only read the record (no admin round trips): a broker that lost the topic has no epoch at all.
            self._reading = asyncio.get_running_loop().create_task(_read_epoch(self.settings))

    def _compare(self, current: str | None) -> None:
        if current != self.epoch:
            raise BrokerEpochChanged(f"broker epoch {self.epoch} became {current}")

    def close(self) -> None:
        """Abandon a read in progress (its owner reconnects or stops)."""
        reading, self._reading = self._reading, None
        if reading is None:
            return
        if not reading.done():
            reading.cancel()
        elif not reading.cancelled():
            reading.exception()  # retrieved: a failed read of an abandoned watch is not worth a warning


async def broker_epoch(settings: KafkaSettings, *, topic_ensured: bool = False) -> str:
    """The id written first to the epoch topic: a new id means the broker's history was lost. `topic_ensured`:
    the caller's `ensure_topics` already named `EPOCH_TOPIC` (one admin connection and its round trips, not two)."""
    if not topic_ensured:
        await ensure_topics(settings, [EPOCH_TOPIC])
    epoch = await _read_epoch(settings)
    if epoch is None:
        producer = make_producer(settings, "pmo-epoch")
        await producer.start()
        try:
            await producer.send_and_wait(EPOCH_TOPIC, str(uuid.uuid4()).encode(), partition=0)
        finally:
            await producer.stop()
        epoch = await _read_epoch(settings)
    if epoch is None:
        raise RuntimeError("the broker accepted no epoch record")
    return epoch


async def _read_epoch(settings: KafkaSettings) -> str | None:
    consumer = AIOKafkaConsumer(
        enable_auto_commit=False,
        fetch_max_wait_ms=5,
        **settings.client_kwargs(),
    )
    try:
        await consumer.start()  # inside: a read cancelled while it connects still closes its consumer
        tp = TopicPartition(EPOCH_TOPIC, 0)
        consumer.assign([tp])
        end = (await consumer.end_offsets([tp]))[tp]
        if end == 0:
            return None
        await consumer.seek_to_beginning(tp)
        for _ in range(50):
            batch = await consumer.getmany(tp, timeout_ms=200, max_records=1)
            for record in batch.get(tp, []):
                return bytes(record.value or b"").decode()
            await asyncio.sleep(0)
        raise RuntimeError("the epoch record could not be read back")
    finally:
        await consumer.stop()
