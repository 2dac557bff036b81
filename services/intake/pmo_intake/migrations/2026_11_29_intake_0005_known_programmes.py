"""Known programmes (issue 16: a proposal may name the programme it asks to join).

Intake learns programmes from the portfolio service's events from now on; programmes created before this
revision are learned by re-reading the portfolio topic (`python -m pmo_intake rebuild --subscription`).

Revision ID: intake_0005
Revises: intake_0004
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "intake_0005"
down_revision = "intake_0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "intake_known_programmes",
        sa.Column("programme_id", sa.String(64), primary_key=True),
        sa.Column("portfolio_id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("closed", sa.Boolean, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("intake_known_programmes")
