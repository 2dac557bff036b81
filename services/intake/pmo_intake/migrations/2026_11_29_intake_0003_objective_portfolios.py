"""Known objectives: the portfolios whose strategy each is (issue 12; null: organisation-wide).

Revision ID: intake_0003
Revises: intake_0002
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "intake_0003"
down_revision = "intake_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("intake_known_objectives") as batch:
        batch.add_column(sa.Column("portfolio_ids", sa.Text))


def downgrade() -> None:
    with op.batch_alter_table("intake_known_objectives") as batch:
        batch.drop_column("portfolio_ids")
