"""The poll that wrote a consumer's offsets (review F4 of session 13).

A poll whose transaction failed asks the stored offsets whether its COMMIT reached the database anyway (its
reply lost). The offsets alone cannot tell: in group mode another holder may have applied the same records and
stored the same end offsets meanwhile, and the poll that never committed was counted as well. Each poll now
writes an id of its own with its offsets. Rows written before have none (NULL), and a row with none is never
taken for a failed poll's.

`runtime_0001` creates the table from today's schema (with the column), hence the look before adding it.

Revision ID: runtime_0005
Revises: runtime_0004
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "runtime_0005"
down_revision = "runtime_0004"
branch_labels = None
depends_on = None


def _columns() -> set[str]:
    return {column["name"] for column in sa.inspect(op.get_bind()).get_columns("pmo_consumer_offsets")}


def upgrade() -> None:
    if "poll_id" not in _columns():
        op.add_column("pmo_consumer_offsets", sa.Column("poll_id", sa.String(64)))


def downgrade() -> None:
    with op.batch_alter_table("pmo_consumer_offsets") as batch:
        batch.drop_column("poll_id")
