"""Resourcing views: demands.

Revision ID: resourcing_0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from pmo_events.runtime.schema import UtcDateTime

revision = "resourcing_0001"
down_revision = None
branch_labels = ("resourcing",)
depends_on = "runtime_0001"


def upgrade() -> None:
    op.create_table(
        "resourcing_demands",
        sa.Column("demand_id", sa.String(64), primary_key=True),
        sa.Column("project_id", sa.String(64), nullable=False),
        sa.Column("role", sa.String(100), nullable=False),
        sa.Column("fte", sa.String(20), nullable=False),
        sa.Column("filled_fte", sa.String(20), nullable=False),
        sa.Column("start", sa.Date, nullable=False),
        sa.Column("end", sa.Date, nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("raised_at", UtcDateTime, nullable=False),
    )
    op.create_index("ix_resourcing_demands_project", "resourcing_demands", ["project_id"])
    op.create_index("ix_resourcing_demands_role", "resourcing_demands", ["role", "status"])


def downgrade() -> None:
    op.drop_table("resourcing_demands")
