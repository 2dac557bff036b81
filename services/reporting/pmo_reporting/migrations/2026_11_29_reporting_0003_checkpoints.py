"""Reporting: `as_of` checkpoints kept in the database, so a cold process folds only the tail of the log.

Revision ID: reporting_0003
Revises: reporting_0002
Create Date: 2026-11-29
"""

from __future__ import annotations

from alembic import op

from pmo_reporting.adapters.db import tables

revision = "reporting_0003"
down_revision = "reporting_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    tables.checkpoints.create(op.get_bind())


def downgrade() -> None:
    tables.checkpoints.drop(op.get_bind())
