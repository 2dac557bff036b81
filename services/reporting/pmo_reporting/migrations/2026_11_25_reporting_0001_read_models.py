"""Reporting: event log, entity index, decision audit trail.

Revision ID: reporting_0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

from alembic import op

from pmo_reporting.adapters.db import tables

revision = "reporting_0001"
down_revision = None
branch_labels = ("reporting",)
depends_on = "runtime_0001"


def upgrade() -> None:
    for table in tables.READ_MODELS:
        table.create(op.get_bind())


def downgrade() -> None:
    for table in reversed(tables.READ_MODELS):
        table.drop(op.get_bind())
