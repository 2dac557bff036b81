"""The subjects portfolio's views hold as unbounded text (review 1 of session 11, F2).

Before session 10 (c4a70a4) a token subject of any length was taken: a decision's `decided_by`, a score's
`assessor` and a scenario's `saved_by` kept it whole in the event while the view row was cut to 200 by the
command's cast. Events are never rewritten and a rebuild no longer cuts, so these VARCHAR(200) columns made such
a history's rebuild fail on PostgreSQL (StringDataRightTruncation), as intake_0006 found for a proposal's
requester. The edge still refuses a subject over 200 characters (401).

PostgreSQL only: SQLite does not enforce a VARCHAR's length. VARCHAR to TEXT rewrites nothing on PostgreSQL.

Revision ID: portfolio_0011
Revises: portfolio_0010
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "portfolio_0011"
down_revision = "portfolio_0010"
branch_labels = None
depends_on = None

COLUMNS = (
    ("portfolio_decisions", "decided_by"),
    ("portfolio_assessments", "assessor"),
    ("portfolio_scenarios", "saved_by"),
)


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table, column in COLUMNS:
            op.alter_column(table, column, type_=sa.Text(), existing_nullable=False)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table, column in COLUMNS:
            op.alter_column(
                table, column, type_=sa.String(200), existing_nullable=False, postgresql_using=f"left({column}, 200)"
            )
