"""The event log's actor as unbounded text (review 1 of session 11, F2).

Before session 10 (c4a70a4) a token subject of any length was taken, and the envelope's `ce_actor` kept it whole
(the producer's outbox headers are text, the signature covers the whole actor). Since c4a70a4 nothing cuts a
value, so `reporting_event_log.actor` VARCHAR(200) refused such an authentic older event on PostgreSQL
(StringDataRightTruncation, not transient): it was dead-lettered `apply_failed`, and every later event of its
stream waited out of order for good. The edge still refuses a subject over 200 characters (401).

PostgreSQL only: SQLite does not enforce a VARCHAR's length. VARCHAR to TEXT rewrites nothing on PostgreSQL.

Revision ID: reporting_0005
Revises: reporting_0004
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "reporting_0005"
down_revision = "reporting_0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column("reporting_event_log", "actor", type_=sa.Text(), existing_nullable=True)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column(
            "reporting_event_log",
            "actor",
            type_=sa.String(200),
            existing_nullable=True,
            postgresql_using="left(actor, 200)",
        )
