"""Portfolio view: a dependency's provider may be a programme milestone, so its provider project may be empty
(issue 16). The dependencies recorded before all name a provider project and stay as they are.

Revision ID: portfolio_0010
Revises: portfolio_0009
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "portfolio_0010"
down_revision = "portfolio_0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("portfolio_dependencies") as batch:
        batch.alter_column("provider_project_id", existing_type=sa.String(64), nullable=True)


def downgrade() -> None:
    # A milestone dependency has no provider project: it cannot be kept in the older view.
    op.execute("DELETE FROM portfolio_dependencies WHERE provider_project_id IS NULL")
    with op.batch_alter_table("portfolio_dependencies") as batch:
        batch.alter_column("provider_project_id", existing_type=sa.String(64), nullable=False)
