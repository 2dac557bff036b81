"""Portfolio view: each dependency between projects with its at-risk flag (new concept: empty at first).

Revision ID: portfolio_0005
Revises: portfolio_0004
Create Date: 2026-11-29
"""

from __future__ import annotations

from alembic import op

from pmo_portfolio.dependencies.views import dependencies

revision = "portfolio_0005"
down_revision = "portfolio_0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    dependencies.create(op.get_bind())


def downgrade() -> None:
    dependencies.drop(op.get_bind())
