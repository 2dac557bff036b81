"""Resourcing views: demands.

Revision ID: resourcing_0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

from alembic import op

from pmo_resourcing.adapters.db import tables

revision = "resourcing_0001"
down_revision = None
branch_labels = ("resourcing",)
depends_on = "runtime_0001"


def upgrade() -> None:
    tables.demands.create(op.get_bind())


def downgrade() -> None:
    tables.demands.drop(op.get_bind())
