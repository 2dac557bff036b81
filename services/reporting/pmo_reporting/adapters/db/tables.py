"""Reporting's tables: the cross-service event log and the read models built from it."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Integer, LargeBinary, String, Table, Text

from pmo_events.runtime.schema import Position, UtcDateTime, metadata

event_log = Table(
    "reporting_event_log",
    metadata,
    Column("seq", Position, primary_key=True, autoincrement=True),
    Column("event_id", String(36), nullable=False, unique=True),
    Column("source", String(100), nullable=False),
    Column("type", String(200), nullable=False),
    Column("subject", String(64), nullable=False),
    Column("sequence", Integer, nullable=False),
    Column("occurred_at", UtcDateTime, nullable=False),
    # Text (reporting_0005): events from before session 10 carry actors of any length (the edge takes 200 since
    # c4a70a4); VARCHAR(200) dead-lettered such an event on PostgreSQL and stopped its stream (review 1, F2).
    Column("actor", Text),
    Column("correlation_id", String(64)),
    Column("causation_id", String(64)),
    Column("data", Text, nullable=False),
    Column("topic", String(200), nullable=False),
    Column("partition", Integer, nullable=False),
    Column("offset", BigInteger, nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
)
Index("ix_reporting_event_log_time", event_log.c.occurred_at)
Index("ix_reporting_event_log_partition", event_log.c.topic, event_log.c.partition, event_log.c.offset)

event_entities = Table(
    "reporting_event_entities",
    metadata,
    Column("entity_id", String(64), primary_key=True),
    Column("event_id", String(36), primary_key=True),
    Column("occurred_at", UtcDateTime, nullable=False),
)

documents = Table(
    "reporting_documents",
    metadata,
    Column("projection", String(64), primary_key=True),
    Column("generation", Integer, primary_key=True),
    Column("kind", String(32), primary_key=True),
    Column("key", String(200), primary_key=True),
    Column("scope", String(200), nullable=False),
    Column("body", Text, nullable=False),
)
Index(
    "ix_reporting_documents_scope",
    documents.c.projection,
    documents.c.generation,
    documents.c.kind,
    documents.c.scope,
)

#: One row per read model: the generation that answers, how far it has folded the log, and any rebuild.
projections = Table(
    "reporting_projections",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("generation", Integer, nullable=False),
    Column("position", Position, nullable=False),
    Column("state", String(16), nullable=False),
    Column("rebuild_generation", Integer),
    Column("rebuild_position", Position),
    Column("rebuild_started_at", UtcDateTime),
    Column("rebuilt_at", UtcDateTime),
    Column("last_error", Text),
)

#: `as_of` checkpoints: a read model folded from every event with `seq <= upto` that happened by `at`, taken
#: with the fold code of `generation` (a rebuild, after a change to a fold, makes the older ones stale).
checkpoints = Table(
    "reporting_checkpoints",
    metadata,
    Column("projection", String(64), primary_key=True),
    Column("generation", Integer, primary_key=True),
    Column("at", UtcDateTime, primary_key=True),
    Column("upto", Position, nullable=False),
    Column("documents", Integer, nullable=False),
    Column("body", LargeBinary, nullable=False),
    Column("taken_at", UtcDateTime, nullable=False),
)

READ_MODELS = [event_log, event_entities, documents, projections, checkpoints]
