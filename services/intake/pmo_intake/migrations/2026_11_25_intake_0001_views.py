"""Intake views: proposals and known portfolios.

Revision ID: intake_0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

from alembic import op

from pmo_intake.adapters.db import tables

revision = "intake_0001"
down_revision = None
branch_labels = ("intake",)
depends_on = "runtime_0001"

TABLES = [tables.proposals, tables.known_portfolios]


def upgrade() -> None:
    for table in TABLES:
        table.create(op.get_bind())


def downgrade() -> None:
    for table in reversed(TABLES):
        table.drop(op.get_bind())
