"""Intake lifecycle: list order and search on proposals, portfolio currency, known objectives.

Revision ID: intake_0002
Revises: intake_0001
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from pmo_events.runtime.schema import Position, UtcDateTime

revision = "intake_0002"
down_revision = "intake_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("intake_proposals") as batch:
        batch.add_column(sa.Column("listed_at", Position))
        batch.add_column(sa.Column("search_text", sa.Text))
    op.create_index("ix_intake_proposals_requester", "intake_proposals", ["requester"])
    op.create_index("ix_intake_proposals_listed_at", "intake_proposals", ["listed_at"])
    with op.batch_alter_table("intake_known_portfolios") as batch:
        batch.add_column(sa.Column("currency", sa.String(16)))
    op.create_table(
        "intake_known_objectives",
        sa.Column("objective_id", sa.String(64), primary_key=True),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("period_start", sa.Date),
        sa.Column("period_end", sa.Date),
        sa.Column("retired", sa.Boolean, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("intake_known_objectives")
    with op.batch_alter_table("intake_known_portfolios") as batch:
        batch.drop_column("currency")
    op.drop_index("ix_intake_proposals_listed_at", "intake_proposals")
    op.drop_index("ix_intake_proposals_requester", "intake_proposals")
    with op.batch_alter_table("intake_proposals") as batch:
        batch.drop_column("search_text")
        batch.drop_column("listed_at")
