"""Parked streams: records the broker refused for good, held until an operator retries or releases them.

Revision ID: runtime_0002
Revises: runtime_0001
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from pmo_events.runtime.schema import Position, UtcDateTime

revision = "runtime_0002"
down_revision = "runtime_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pmo_parked_streams",
        sa.Column("topic", sa.String(200), nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("outbox_id", Position, nullable=False),
        sa.Column("error", sa.Text, nullable=False),
        sa.Column("parked_at", UtcDateTime, nullable=False),
        sa.Column("released_at", UtcDateTime),
        sa.Column("released_by", sa.String(200)),
        sa.Column("release_reason", sa.Text),
        sa.PrimaryKeyConstraint("topic", "key", "outbox_id", name="pk_pmo_parked_streams"),
    )


def downgrade() -> None:
    op.drop_table("pmo_parked_streams")
