"""Portfolio views: portfolios, candidates, projects.

Revision ID: portfolio_0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

from alembic import op

from pmo_portfolio.candidates.views import candidates
from pmo_portfolio.delivery.views import projects
from pmo_portfolio.funding.views import portfolios

revision = "portfolio_0001"
down_revision = None
branch_labels = ("portfolio",)
depends_on = "runtime_0001"

TABLES = [portfolios, candidates, projects]


def upgrade() -> None:
    for table in TABLES:
        table.create(op.get_bind())


def downgrade() -> None:
    for table in reversed(TABLES):
        table.drop(op.get_bind())
