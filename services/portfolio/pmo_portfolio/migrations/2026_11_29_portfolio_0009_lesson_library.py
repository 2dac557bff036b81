"""Portfolio view: the lesson library and its full-text index (issue 15: lessons reach the next team).

Lessons already recorded are read from the event store into the library, so existing projects are
offered them at once.

Revision ID: portfolio_0009
Revises: portfolio_0008
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from pmo_events.contracts.portfolio import LessonRecorded
from pmo_events.envelope import dumps, loads
from pmo_events.runtime.fulltext import TextIndex
from pmo_events.runtime.schema import UtcDateTime

revision = "portfolio_0009"
down_revision = "portfolio_0008"
branch_labels = None
depends_on = None

LESSON_TEXT = TextIndex("portfolio_lesson_text")


def upgrade() -> None:
    library = op.create_table(
        "portfolio_lessons",
        sa.Column("lesson_id", sa.String(64), primary_key=True),
        sa.Column("project_id", sa.String(64), nullable=False),
        sa.Column("portfolio_id", sa.String(64), nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("category", sa.Text, nullable=False),
        sa.Column("tags", sa.Text, nullable=False),
        sa.Column("recorded_at", UtcDateTime, nullable=False),
    )
    bind = op.get_bind()
    for statement in LESSON_TEXT.create_statements(bind.dialect.name):
        op.execute(statement)
    recorded = bind.execute(
        sa.text("SELECT data FROM pmo_events WHERE type = :type ORDER BY position"),
        {"type": LessonRecorded.type_name()},
    )
    for (data,) in recorded:
        lesson = LessonRecorded.model_validate(loads(data))
        bind.execute(sa.delete(library).where(library.c.lesson_id == lesson.lesson_id))
        bind.execute(
            library.insert().values(
                lesson_id=lesson.lesson_id, project_id=lesson.project_id, portfolio_id=lesson.portfolio_id,
                title=lesson.title, description=lesson.description, category=lesson.category,
                tags=dumps(list(lesson.tags)).decode(), recorded_at=lesson.recorded_at,
            )
        )  # fmt: skip
        words = " ".join([lesson.title, lesson.description, lesson.category, *lesson.tags])
        bind.execute(sa.text(f"DELETE FROM {LESSON_TEXT.name} WHERE doc_id = :id"), {"id": lesson.lesson_id})
        bind.execute(sa.text(LESSON_TEXT.insert_statement(bind.dialect.name)), {"id": lesson.lesson_id, "doc": words})


def downgrade() -> None:
    for statement in LESSON_TEXT.drop_statements(op.get_bind().dialect.name):
        op.execute(statement)
    op.drop_table("portfolio_lessons")
