"""Runtime tables: event store, snapshots, outbox, consumer offsets, consumed streams, idempotency.

Revision ID: runtime_0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

from alembic import op

from pmo_events.runtime import schema

revision = "runtime_0001"
down_revision = None
branch_labels = ("runtime",)
depends_on = None

TABLES = [
    schema.events,
    schema.snapshots,
    schema.outbox,
    schema.consumer_offsets,
    schema.consumed_streams,
    schema.runtime_state,
    schema.idempotency_keys,
]


def upgrade() -> None:
    bind = op.get_bind()
    for table in TABLES:
        table.create(bind)


def downgrade() -> None:
    bind = op.get_bind()
    for table in reversed(TABLES):
        table.drop(bind)
