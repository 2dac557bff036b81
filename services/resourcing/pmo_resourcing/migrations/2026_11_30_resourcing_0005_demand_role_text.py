"""A demand line's role as unbounded text (review 1 of session 10, F2).

Before session 10 intake took a role estimate of 101-200 characters: the project's initiation carried it whole,
resourcing's DemandRaised event keeps it whole in its data while the view row was cut to 100 by the command's cast.
Events are never rewritten, and a rebuild no longer cuts (c4a70a4), so `resourcing_demands.role` VARCHAR(100) made
such a history's rebuild fail. Intake's edge still bounds a role estimate at 100; the column now holds whatever an
older event recorded.

PostgreSQL only: SQLite does not enforce a VARCHAR's length (the whole value was always kept there).

Revision ID: resourcing_0005
Revises: resourcing_0004
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "resourcing_0005"
down_revision = "resourcing_0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column("resourcing_demands", "role", type_=sa.Text(), existing_nullable=False)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column(
            "resourcing_demands",
            "role",
            type_=sa.String(100),
            existing_nullable=False,
            postgresql_using="left(role, 100)",
        )
