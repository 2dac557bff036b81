"""The outbox keeps only what is still to be sent: the relay deletes a row once the broker has it.

The rows already marked sent (`published_at`) go, and so does the partial index of unsent rows: every row left is
unsent, so the primary key orders the relay's read, and an insert maintains one index fewer. `published_at` stays
for a relay of the previous release (still running during a rolling update), which marks instead of deleting.
`runtime_0001` creates the outbox from today's schema (no such index), hence `IF EXISTS`.

Revision ID: runtime_0003
Revises: runtime_0002
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "runtime_0003"
down_revision = "runtime_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("DELETE FROM pmo_outbox WHERE published_at IS NOT NULL")
    op.execute("DROP INDEX IF EXISTS ix_pmo_outbox_pending")


def downgrade() -> None:
    unsent = sa.text("published_at IS NULL")
    op.create_index("ix_pmo_outbox_pending", "pmo_outbox", ["id"], postgresql_where=unsent, sqlite_where=unsent)
