"""Resourcing: the project manager of each known project (from `ProjectManagerAssigned`).

Revision ID: resourcing_0003
Revises: resourcing_0002
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "resourcing_0003"
down_revision = "resourcing_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("resourcing_project_states") as batch:
        batch.add_column(sa.Column("project_manager", sa.String(200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("resourcing_project_states") as batch:
        batch.drop_column("project_manager")
