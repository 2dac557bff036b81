"""Portfolio view: the board's motions, each as of its latest event (open ones with their deadline).

No motion could be recorded before this revision (no operation proposed one), so the view starts empty.

Revision ID: portfolio_0007
Revises: portfolio_0006
Create Date: 2026-11-29
"""

from __future__ import annotations

from alembic import op

from pmo_portfolio.governance.views import motions

revision = "portfolio_0007"
down_revision = "portfolio_0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    motions.create(op.get_bind())


def downgrade() -> None:
    motions.drop(op.get_bind())
