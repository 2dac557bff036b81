"""A proposal's requester as unbounded text (review 1 of session 10, F2).

Before session 10 a token subject of 201-254 characters was taken: its draft's event keeps the whole subject in
`data.requester` while the view row was cut to 200 by the command's cast. Events are never rewritten, and a rebuild
no longer cuts (c4a70a4), so `intake_proposals.requester` VARCHAR(200) made such a history's rebuild fail. The edge
still refuses a subject over 200 characters (401); the column now holds whatever an older event recorded.

PostgreSQL only: SQLite does not enforce a VARCHAR's length (the whole value was always kept there).

Revision ID: intake_0006
Revises: intake_0005
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "intake_0006"
down_revision = "intake_0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column("intake_proposals", "requester", type_=sa.Text(), existing_nullable=False)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column(
            "intake_proposals",
            "requester",
            type_=sa.String(200),
            existing_nullable=False,
            postgresql_using="left(requester, 200)",
        )
