"""Portfolio views: objectives, decisions (the audit trail) and saved scenarios.

Revision ID: portfolio_0002
Revises: portfolio_0001
Create Date: 2026-11-25
"""

from __future__ import annotations

from alembic import op

from pmo_portfolio.candidates.views import decisions
from pmo_portfolio.objectives.views import objectives
from pmo_portfolio.scenarios.views import scenarios

revision = "portfolio_0002"
down_revision = "portfolio_0001"
branch_labels = None
depends_on = None

TABLES = [objectives, decisions, scenarios]


def upgrade() -> None:
    for table in TABLES:
        table.create(op.get_bind())


def downgrade() -> None:
    for table in reversed(TABLES):
        table.drop(op.get_bind())
