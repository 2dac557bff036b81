"""Reporting's tables: the cross-service event log and the read models built from it."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Integer, String, Table, Text

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
    Column("actor", String(200)),
    Column("correlation_id", String(64)),
    Column("causation_id", String(64)),
    Column("data", Text, nullable=False),
    Column("topic", String(200), nullable=False),
    Column("partition", Integer, nullable=False),
    Column("offset", BigInteger, nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
)
Index("ix_reporting_event_log_time", event_log.c.occurred_at)

event_entities = Table(
    "reporting_event_entities",
    metadata,
    Column("entity_id", String(64), primary_key=True),
    Column("event_id", String(36), primary_key=True),
    Column("occurred_at", UtcDateTime, nullable=False),
)

decisions = Table(
    "reporting_decisions",
    metadata,
    Column("decision_id", String(36), primary_key=True),
    Column("kind", String(32), nullable=False),
    Column("portfolio_id", String(36), nullable=False),
    Column("subject_id", String(36), nullable=False),
    Column("outcome", String(32), nullable=False),
    Column("decided_by", String(200), nullable=False),
    Column("decided_at", UtcDateTime, nullable=False),
    Column("rationale", Text, nullable=False),
    Column("details", Text, nullable=False),
    Column("event_id", String(36), nullable=False),
)
Index("ix_reporting_decisions_portfolio", decisions.c.portfolio_id, decisions.c.decided_at)

READ_MODELS = [event_log, event_entities, decisions]
