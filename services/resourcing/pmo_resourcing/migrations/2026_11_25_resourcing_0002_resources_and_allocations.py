"""Resourcing views: resources, skills, allocations, project states; demand coverage columns.

Revision ID: resourcing_0002
Revises: resourcing_0001
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from pmo_events.runtime.schema import UtcDateTime

revision = "resourcing_0002"
down_revision = "resourcing_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("resourcing_demands") as batch:
        batch.add_column(sa.Column("proposed_fte", sa.String(20), nullable=False, server_default="0"))
        batch.add_column(sa.Column("cancel_reason", sa.Text, nullable=True))
    op.create_table(
        "resourcing_resources",
        sa.Column("resource_id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("role", sa.String(100), nullable=False),
        sa.Column("pool", sa.String(100), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
    )
    op.create_index("ix_resourcing_resources_role", "resourcing_resources", ["role", "status"])
    op.create_index("ix_resourcing_resources_pool", "resourcing_resources", ["pool"])
    op.create_table(
        "resourcing_resource_skills",
        sa.Column("resource_id", sa.String(64), primary_key=True),
        sa.Column("skill", sa.String(100), primary_key=True),
        sa.Column("level", sa.Integer, nullable=False),
    )
    op.create_index("ix_resourcing_resource_skills_skill", "resourcing_resource_skills", ["skill", "level"])
    _create_allocations()
    op.create_table(
        "resourcing_project_states",
        sa.Column("project_id", sa.String(64), primary_key=True),
        sa.Column("portfolio_id", sa.String(64), nullable=True),
        sa.Column("title", sa.String(200), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("changed_at", UtcDateTime, nullable=False),
    )


def _create_allocations() -> None:
    op.create_table(
        "resourcing_allocations",
        sa.Column("allocation_id", sa.String(64), primary_key=True),
        sa.Column("resource_id", sa.String(64), nullable=False),
        sa.Column("project_id", sa.String(64), nullable=False),
        sa.Column("demand_id", sa.String(64), nullable=True),
        sa.Column("role", sa.String(100), nullable=False),
        sa.Column("start", sa.Date, nullable=False),
        sa.Column("end", sa.Date, nullable=False),
        sa.Column("fte", sa.String(20), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("overallocated", sa.Boolean, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
    )
    op.create_index("ix_resourcing_allocations_resource", "resourcing_allocations", ["resource_id"])
    op.create_index("ix_resourcing_allocations_project", "resourcing_allocations", ["project_id", "status"])
    op.create_index("ix_resourcing_allocations_demand", "resourcing_allocations", ["demand_id"])


def downgrade() -> None:
    for table in ("resourcing_project_states", "resourcing_allocations", "resourcing_resource_skills"):
        op.drop_table(table)
    op.drop_table("resourcing_resources")
    with op.batch_alter_table("resourcing_demands") as batch:
        batch.drop_column("cancel_reason")
        batch.drop_column("proposed_fte")
