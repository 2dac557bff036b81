"""A service's own library of recorded lessons: learned from `LessonRecorded`, searched for the next team.

Intake (for proposals) and portfolio (for projects) each keep one in their own database; the words are
found by the database's full-text search (`fulltext`) and ranked by `pmo_events.figures.relevance`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Column, MetaData, String, Table, Text, delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from pmo_events.contracts.portfolio import LessonRecorded
from pmo_events.envelope import dumps, loads
from pmo_events.figures.relevance import LessonCandidate, RelatedLesson, Subject, rank_lessons
from pmo_events.runtime import pgdirect
from pmo_events.runtime.fulltext import TextIndex
from pmo_events.runtime.schema import UtcDateTime
from pmo_events.runtime.store import Premise

#: At most this many lessons are offered at once.
MAX_OFFERED = 20
#: The full-text search's best hits the relevance rule looks at.
SEARCHED = 200


def lesson_table(name: str, metadata: MetaData) -> Table:
    """The lessons a service knows (a migration creates it with the same columns)."""
    return Table(
        name,
        metadata,
        Column("lesson_id", String(64), primary_key=True),
        Column("project_id", String(64), nullable=False),
        Column("portfolio_id", String(64), nullable=False),
        Column("title", Text, nullable=False),
        Column("description", Text, nullable=False),
        Column("category", Text, nullable=False),
        #: JSON list of tags.
        Column("tags", Text, nullable=False),
        Column("recorded_at", UtcDateTime, nullable=False),
    )


class LessonLibrary:
    """The lessons table and its text index, written together in the caller's transaction."""

    def __init__(self, table: Table, text: TextIndex) -> None:
        self.table = table
        self.text = text

    @property
    def tables(self) -> tuple[Table, Table]:
        """Both tables, for a subscription reset or a rebuild to empty."""
        return self.table, self.text.table

    async def learn(self, session: AsyncSession, lesson: LessonRecorded) -> None:
        """Keep the lesson (again: the same lesson delivered twice is kept once)."""
        await session.execute(delete(self.table).where(self.table.c.lesson_id == lesson.lesson_id))
        await session.execute(
            self.table.insert().values(
                lesson_id=lesson.lesson_id,
                project_id=lesson.project_id,
                portfolio_id=lesson.portfolio_id,
                title=lesson.title,
                description=lesson.description,
                category=lesson.category,
                tags=dumps(list(lesson.tags)).decode(),
                recorded_at=lesson.recorded_at,
            )
        )
        words = " ".join([lesson.title, lesson.description, lesson.category, *lesson.tags])
        await self.text.put(session, lesson.lesson_id, words)

    async def knows(self, session: AsyncSession | pgdirect.Direct, lesson_id: str) -> bool:
        """Whether the lesson is kept (`session`: a unit of work's `reads` will do; a read, on PostgreSQL
        straight through asyncpg with no transaction of its own)."""
        if pgdirect.on_asyncpg(session):
            statement = f"SELECT 1 FROM {self.table.name} WHERE lesson_id = $1"
            return bool(await pgdirect.fetch(session, statement, lesson_id, begin=False))
        assert isinstance(session, AsyncSession)
        query = select(self.table.c.lesson_id).where(self.table.c.lesson_id == lesson_id)
        return (await session.execute(query)).first() is not None

    def premise_none_related(self, reads: AsyncSession | pgdirect.Direct, subject: Subject) -> Premise | None:
        """The premise that no lesson is related to `subject`, for a command that offers none without searching
        (`UnitOfWork.assume`: checked in its write). A lesson is related only when the full-text search finds it,
        so this is the premise that the search finds nothing (`TextIndex.premise_none_found`, which says when
        it makes none: then call `related`)."""
        return self.text.premise_none_found(reads, subject.terms)

    async def related(
        self, session: AsyncSession | pgdirect.Direct, subject: Subject, *, limit: int = MAX_OFFERED
    ) -> list[RelatedLesson]:
        """The lessons most relevant to `subject`, most relevant first (`session`: a unit of work's `reads`
        will do, it reads and writes nothing else)."""
        ranks = await self.text.search(session, subject.terms, limit=SEARCHED)
        if not ranks:
            return []
        rows: Any
        if isinstance(session, pgdirect.Direct):
            rows = [_LessonRow(*row) for row in await pgdirect.fetch(session, self._by_ids, list(ranks), begin=False)]
        else:
            rows = await session.execute(select(self.table).where(self.table.c.lesson_id.in_(list(ranks))))
        candidates = [
            LessonCandidate(
                lesson_id=r.lesson_id,
                project_id=r.project_id,
                portfolio_id=r.portfolio_id,
                title=r.title,
                description=r.description,
                category=r.category,
                tags=tuple(loads(r.tags)),
                recorded_at=r.recorded_at,
                text_rank=ranks[r.lesson_id],
            )
            for r in rows
        ]
        return rank_lessons(subject, candidates, limit=limit)

    @property
    def _by_ids(self) -> str:
        """The lessons whose ids are in $1, every column in `lesson_table`'s order (asyncpg)."""
        names = ", ".join(_LessonRow.FIELDS)
        return f"SELECT {names} FROM {self.table.name} WHERE lesson_id = ANY($1::varchar[])"


class _LessonRow:
    """A row of `lesson_table` read straight through asyncpg, converted as the table's column types do."""

    FIELDS = ("lesson_id", "project_id", "portfolio_id", "title", "description", "category", "tags", "recorded_at")
    __slots__ = FIELDS

    recorded_at: datetime

    def __init__(self, *values: Any) -> None:
        for name, value in zip(self.FIELDS, values, strict=True):
            setattr(self, name, value)
        self.recorded_at = self.recorded_at.astimezone(UTC)
