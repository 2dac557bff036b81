"""Intake views: proposals and known portfolios.

Revision ID: intake_0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from pmo_events.runtime.schema import UtcDateTime

revision = "intake_0001"
down_revision = None
branch_labels = ("intake",)
depends_on = "runtime_0001"


def upgrade() -> None:
    # The tables as they were at this revision (later revisions add to them; tables.py is the latest).
    op.create_table(
        "intake_proposals",
        sa.Column("proposal_id", sa.String(36), primary_key=True),
        sa.Column("portfolio_id", sa.String(64), nullable=False),
        sa.Column("requester", sa.String(200), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
    )
    op.create_index("ix_intake_proposals_status", "intake_proposals", ["status"])
    op.create_index("ix_intake_proposals_portfolio", "intake_proposals", ["portfolio_id"])
    op.create_table(
        "intake_known_portfolios",
        sa.Column("portfolio_id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("fiscal_periods", sa.Text, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("intake_known_portfolios")
    op.drop_table("intake_proposals")
