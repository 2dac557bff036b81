"""Known lessons and their full-text index (issue 15: lessons reach the next team).

Revision ID: intake_0004
Revises: intake_0003
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from pmo_events.runtime.fulltext import TextIndex
from pmo_events.runtime.schema import UtcDateTime

revision = "intake_0004"
down_revision = "intake_0003"
branch_labels = None
depends_on = None

LESSON_TEXT = TextIndex("intake_lesson_text")


def upgrade() -> None:
    op.create_table(
        "intake_known_lessons",
        sa.Column("lesson_id", sa.String(64), primary_key=True),
        sa.Column("project_id", sa.String(64), nullable=False),
        sa.Column("portfolio_id", sa.String(64), nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("category", sa.Text, nullable=False),
        sa.Column("tags", sa.Text, nullable=False),
        sa.Column("recorded_at", UtcDateTime, nullable=False),
    )
    for statement in LESSON_TEXT.create_statements(op.get_bind().dialect.name):
        op.execute(statement)


def downgrade() -> None:
    for statement in LESSON_TEXT.drop_statements(op.get_bind().dialect.name):
        op.execute(statement)
    op.drop_table("intake_known_lessons")
