"""Reporting: event log, entity index, decision audit trail.

Revision ID: reporting_0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from pmo_events.runtime.schema import Position, UtcDateTime

revision = "reporting_0001"
down_revision = None
branch_labels = ("reporting",)
depends_on = "runtime_0001"


def upgrade() -> None:
    # Spelled out (not taken from tables.py) so this revision stays what it was when later ones change the model.
    op.create_table(
        "reporting_event_log",
        sa.Column("seq", Position, primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(36), nullable=False, unique=True),
        sa.Column("source", sa.String(100), nullable=False),
        sa.Column("type", sa.String(200), nullable=False),
        sa.Column("subject", sa.String(64), nullable=False),
        sa.Column("sequence", sa.Integer, nullable=False),
        sa.Column("occurred_at", UtcDateTime, nullable=False),
        sa.Column("actor", sa.String(200)),
        sa.Column("correlation_id", sa.String(64)),
        sa.Column("causation_id", sa.String(64)),
        sa.Column("data", sa.Text, nullable=False),
        sa.Column("topic", sa.String(200), nullable=False),
        sa.Column("partition", sa.Integer, nullable=False),
        sa.Column("offset", sa.BigInteger, nullable=False),
        sa.Column("received_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_reporting_event_log"),
        sa.UniqueConstraint("event_id", name="uq_reporting_event_log_event_id"),
    )
    op.create_index("ix_reporting_event_log_time", "reporting_event_log", ["occurred_at"])
    op.create_table(
        "reporting_event_entities",
        sa.Column("entity_id", sa.String(64), nullable=False),
        sa.Column("event_id", sa.String(36), nullable=False),
        sa.Column("occurred_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("entity_id", "event_id", name="pk_reporting_event_entities"),
    )
    op.create_table(
        "reporting_decisions",
        sa.Column("decision_id", sa.String(36), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("portfolio_id", sa.String(36), nullable=False),
        sa.Column("subject_id", sa.String(36), nullable=False),
        sa.Column("outcome", sa.String(32), nullable=False),
        sa.Column("decided_by", sa.String(200), nullable=False),
        sa.Column("decided_at", UtcDateTime, nullable=False),
        sa.Column("rationale", sa.Text, nullable=False),
        sa.Column("details", sa.Text, nullable=False),
        sa.Column("event_id", sa.String(36), nullable=False),
        sa.PrimaryKeyConstraint("decision_id", name="pk_reporting_decisions"),
    )
    op.create_index("ix_reporting_decisions_portfolio", "reporting_decisions", ["portfolio_id", "decided_at"])


def downgrade() -> None:
    for table in ("reporting_decisions", "reporting_event_entities", "reporting_event_log"):
        op.drop_table(table)
