"""Reporting: versioned read-model documents and projection positions; the decisions table becomes documents.

Revision ID: reporting_0002
Revises: reporting_0001
Create Date: 2026-11-25
"""

from __future__ import annotations

from alembic import op

from pmo_reporting.adapters.db import tables

revision = "reporting_0002"
down_revision = "reporting_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_reporting_decisions_portfolio", "reporting_decisions")
    op.drop_table("reporting_decisions")
    op.create_index("ix_reporting_event_log_partition", "reporting_event_log", ["topic", "partition", "offset"])
    tables.documents.create(op.get_bind())
    tables.projections.create(op.get_bind())
    # A log kept under revision 0001 is folded into the new documents by a rebuild (docs/reporting.md).


def downgrade() -> None:
    tables.projections.drop(op.get_bind())
    tables.documents.drop(op.get_bind())
    op.drop_index("ix_reporting_event_log_partition", "reporting_event_log")
