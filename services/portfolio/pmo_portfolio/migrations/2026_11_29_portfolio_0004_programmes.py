"""Portfolio views: programmes, and which programme each project is in (new concept: empty at first).

Revision ID: portfolio_0004
Revises: portfolio_0003
Create Date: 2026-11-29
"""

from __future__ import annotations

from alembic import op

from pmo_portfolio.programmes.views import programme_projects, programmes

revision = "portfolio_0004"
down_revision = "portfolio_0003"
branch_labels = None
depends_on = None

TABLES = [programmes, programme_projects]


def upgrade() -> None:
    for table in TABLES:
        table.create(op.get_bind())


def downgrade() -> None:
    for table in reversed(TABLES):
        table.drop(op.get_bind())
