"""Resourcing: the organisation's fiscal calendar (from the portfolio's `FiscalCalendarSet`), for capacity buckets;
why a booking runs on non-working days, when the manager accepted it.

Revision ID: resourcing_0004
Revises: resourcing_0003
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from pmo_events.runtime.schema import UtcDateTime

revision = "resourcing_0004"
down_revision = "resourcing_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "resourcing_fiscal_calendar",
        sa.Column("calendar_id", sa.String(64), primary_key=True),
        sa.Column("year_start_month", sa.Integer, nullable=False),
        sa.Column("year_named_by", sa.String(8), nullable=False),
        sa.Column("set_at", UtcDateTime, nullable=False),
    )
    with op.batch_alter_table("resourcing_allocations") as batch:
        batch.add_column(sa.Column("non_working_days_reason", sa.Text, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("resourcing_allocations") as batch:
        batch.drop_column("non_working_days_reason")
    op.drop_table("resourcing_fiscal_calendar")
