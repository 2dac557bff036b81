"""An event's actor as unbounded text (review 1 of session 11, F2).

Before session 10 (c4a70a4) a token subject of any length was taken: the envelope's `ce_actor` (the outbox's
headers are text, the signature covers the whole actor) and subjects an event's data names (`decided_by`,
`assessor`) kept it whole. A consumer's command records the consumed event's actor (`Metadata.caused_by`:
portfolio's `CandidateRegistered` for intake's `ProposalSubmitted`, resourcing's demands for portfolio's
projects) or a subject of its data (intake's reactions to portfolio's decisions and scores), so
`pmo_events.actor` VARCHAR(200) refused such an older event on PostgreSQL (StringDataRightTruncation, not
transient: dead-lettered, its stream stopped). The edge still refuses a subject over 200 characters (401).

PostgreSQL only: SQLite does not enforce a VARCHAR's length. VARCHAR to TEXT rewrites nothing on PostgreSQL.

Revision ID: runtime_0004
Revises: runtime_0003
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "runtime_0004"
down_revision = "runtime_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column("pmo_events", "actor", type_=sa.Text(), existing_nullable=True)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column(
            "pmo_events", "actor", type_=sa.String(200), existing_nullable=True, postgresql_using="left(actor, 200)"
        )
