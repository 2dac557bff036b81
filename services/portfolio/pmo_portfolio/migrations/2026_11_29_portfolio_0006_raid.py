"""Portfolio view: the RAID log, each risk, assumption and issue where it sits now (new concept: empty at first).

Revision ID: portfolio_0006
Revises: portfolio_0005
Create Date: 2026-11-29
"""

from __future__ import annotations

from alembic import op

from pmo_portfolio.raid.views import raid_items

revision = "portfolio_0006"
down_revision = "portfolio_0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    raid_items.create(op.get_bind())


def downgrade() -> None:
    raid_items.drop(op.get_bind())
