"""Tables every service's database holds for the event runtime (migrated by the `runtime` Alembic branch)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "pk": "pk_%(table_name)s",
}

#: Shared by every service so that service tables and runtime tables live in one metadata per service.
metadata = MetaData(naming_convention=NAMING)

#: SQLite only autoincrements INTEGER PRIMARY KEY; PostgreSQL gets a 64-bit identity.
Position = BigInteger().with_variant(Integer, "sqlite")


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC on the way in and out, also on SQLite (which stores naive text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; the store only takes timezone-aware UTC")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


events = Table(
    "pmo_events",
    metadata,
    Column("position", Position, primary_key=True, autoincrement=True),
    Column("event_id", String(36), nullable=False, unique=True),
    Column("stream_id", String(64), nullable=False),
    Column("stream_type", String(64), nullable=False),
    Column("version", Integer, nullable=False),
    Column("type", String(200), nullable=False),
    Column("data", Text, nullable=False),
    # Text (runtime_0004): a consumer's command records the consumed event's actor (or a subject its data names),
    # and events from before session 10 carry subjects of any length (the edge takes 200 since c4a70a4).
    Column("actor", Text),
    Column("correlation_id", String(64)),
    Column("causation_id", String(64)),
    Column("traceparent", String(64)),
    Column("occurred_at", UtcDateTime, nullable=False),
    # The optimistic-concurrency guard: one event per (stream, version), whoever commits first.
    UniqueConstraint("stream_id", "version", name="uq_pmo_events_stream_version"),
)

snapshots = Table(
    "pmo_snapshots",
    metadata,
    Column("stream_id", String(64), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("state", Text, nullable=False),
    Column("taken_at", UtcDateTime, nullable=False),
)

outbox = Table(
    "pmo_outbox",
    metadata,
    Column("id", Position, primary_key=True, autoincrement=True),
    Column("topic", String(200), nullable=False),
    Column("key", String(200)),
    Column("headers", Text, nullable=False),
    Column("value", LargeBinary, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    # The relay deletes the rows it sent (runtime_0003); a relay of an earlier release, still running during a
    # rolling update, sets this instead, and a row it set counts as sent.
    Column("published_at", UtcDateTime),
)

consumer_offsets = Table(
    "pmo_consumer_offsets",
    metadata,
    Column("consumer", String(200), primary_key=True),
    Column("topic", String(200), primary_key=True),
    Column("partition", Integer, primary_key=True),
    Column("next_offset", BigInteger, nullable=False),
    Column("broker_epoch", String(64), nullable=False),
    # The poll whose transaction wrote the row (runtime_0005): a poll that failed tells from it whether its own
    # COMMIT reached the database, not another holder's of the same records (`Subscription._unconfirmed_poll`).
    # NULL: written by an earlier release.
    Column("poll_id", String(64)),
)

consumed_streams = Table(
    "pmo_consumed_streams",
    metadata,
    Column("consumer", String(200), primary_key=True),
    Column("source", String(100), primary_key=True),
    Column("stream_id", String(64), primary_key=True),
    Column("last_sequence", Integer, nullable=False),
)

#: Streams the relay holds because the broker refused one of their records for good (too large, corrupt):
#: the rest of that stream waits, every other stream keeps flowing, until an operator retries or releases it.
parked_streams = Table(
    "pmo_parked_streams",
    metadata,
    Column("topic", String(200), primary_key=True),
    Column("key", String(200), primary_key=True),
    Column("outbox_id", Position, primary_key=True),
    Column("error", Text, nullable=False),
    Column("parked_at", UtcDateTime, nullable=False),
    Column("released_at", UtcDateTime),
    Column("released_by", String(200)),
    Column("release_reason", Text),
)

runtime_state = Table(
    "pmo_runtime_state",
    metadata,
    Column("name", String(200), primary_key=True),
    Column("value", Text, nullable=False),
)

idempotency_keys = Table(
    "pmo_idempotency_keys",
    metadata,
    Column("principal", String(200), primary_key=True),
    Column("key", String(200), primary_key=True),
    Column("request_hash", String(64), nullable=False),
    Column("status_code", Integer, nullable=False),
    Column("headers", Text, nullable=False),
    Column("body", LargeBinary, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)
