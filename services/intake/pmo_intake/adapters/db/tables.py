"""Intake's own tables: the proposals view and what it knows of portfolios, objectives and lessons."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Date, Index, Integer, String, Table, Text

from pmo_events.runtime.fulltext import TextIndex
from pmo_events.runtime.lessons import LessonLibrary, lesson_table
from pmo_events.runtime.schema import Position, UtcDateTime, metadata

proposals = Table(
    "intake_proposals",
    metadata,
    Column("proposal_id", String(36), primary_key=True),
    Column("portfolio_id", String(64), nullable=False),
    # Text (intake_0006): events from before session 10 hold requesters of up to 254 characters (the edge takes 200).
    Column("requester", Text, nullable=False),
    Column("status", String(32), nullable=False),
    Column("title", String(200), nullable=False),
    Column("version", Integer, nullable=False),
    Column("state", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    # The store position of the draft event: a stable, unique order for cursor pagination.
    Column("listed_at", Position),
    # Case-folded title and summary, so `q` matches the same way on SQLite and PostgreSQL.
    Column("search_text", Text),
)
Index("ix_intake_proposals_status", proposals.c.status)
Index("ix_intake_proposals_portfolio", proposals.c.portfolio_id)
Index("ix_intake_proposals_requester", proposals.c.requester)
Index("ix_intake_proposals_listed_at", proposals.c.listed_at)

known_portfolios = Table(
    "intake_known_portfolios",
    metadata,
    Column("portfolio_id", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("fiscal_periods", Text, nullable=False),
    Column("currency", String(16)),
)

known_objectives = Table(
    "intake_known_objectives",
    metadata,
    Column("objective_id", String(64), primary_key=True),
    Column("title", Text, nullable=False),
    Column("period_start", Date),
    Column("period_end", Date),
    Column("retired", Boolean, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    #: JSON list of the portfolios whose strategy it is; null or empty: organisation-wide.
    Column("portfolio_ids", Text),
)

#: Programmes of the portfolios (portfolio's `ProgrammeCreated`, closed by a `close_programme` review): a
#: proposal may ask to join one.
known_programmes = Table(
    "intake_known_programmes",
    metadata,
    Column("programme_id", String(64), primary_key=True),
    Column("portfolio_id", String(64), nullable=False),
    Column("name", String(200), nullable=False),
    Column("closed", Boolean, nullable=False),
)

#: Lessons other teams recorded (portfolio's `LessonRecorded`), offered to proposals that need them, with
#: their words (title, description, category, tags) in a full-text index.
lessons = LessonLibrary(lesson_table("intake_known_lessons", metadata), TextIndex("intake_lesson_text"))
