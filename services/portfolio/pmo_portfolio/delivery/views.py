"""The projects view and the lesson library: written in each command's transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Column, Index, Integer, String, Table, Text, select
from sqlalchemy.ext.asyncio import AsyncSession

from pmo_events.contracts.portfolio import BenefitRealised, LessonRecorded
from pmo_events.envelope import RecordedEvent, loads
from pmo_events.runtime.fulltext import TextIndex
from pmo_events.runtime.lessons import LessonLibrary, lesson_table
from pmo_events.runtime.schema import UtcDateTime, metadata
from pmo_portfolio.delivery.domain import project as project_rules

projects = Table(
    "portfolio_projects",
    metadata,
    Column("project_id", String(36), primary_key=True),
    Column("portfolio_id", String(36), nullable=False),
    Column("status", String(32), nullable=False),
    Column("stage", String(32), nullable=False),
    Column("version", Integer, nullable=False),
    Column("state", Text, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)
Index("ix_portfolio_projects_portfolio", projects.c.portfolio_id)

#: Every lesson recorded, with its words in a full-text index, to offer to the projects it is relevant to.
lessons = LessonLibrary(lesson_table("portfolio_lessons", metadata), TextIndex("portfolio_lesson_text"))


async def update_projects(session: AsyncSession, event: RecordedEvent) -> None:
    """The project as its own stream has it, with its lessons and benefit realisations counted: those are
    on streams of their own (or, recorded before, on the project's), so they are counted by type."""
    decoded = event.decode()
    if isinstance(decoded, LessonRecorded | BenefitRealised):
        await _count(session, decoded)
    if event.stream_type != "project":
        return
    row = (await session.execute(select(projects.c.state).where(projects.c.project_id == event.stream_id))).first()
    state = project_rules.Project.model_validate(loads(row.state)) if row else project_rules.initial(event.stream_id)
    state = project_rules.evolve(state, decoded)
    values = {**project_columns(state, event), "state": state.model_dump_json()}
    if row is None:
        await session.execute(projects.insert().values(project_id=event.stream_id, **values))
    else:
        await session.execute(projects.update().where(projects.c.project_id == event.stream_id).values(**values))


async def _count(session: AsyncSession, fact: LessonRecorded | BenefitRealised) -> None:
    row = (await session.execute(select(projects.c.state).where(projects.c.project_id == fact.project_id))).first()
    if row is None:
        return
    counted = counted_in(project_rules.Project.model_validate(loads(row.state)), fact)
    written = counted.model_dump_json()
    await session.execute(projects.update().where(projects.c.project_id == fact.project_id).values(state=written))


def counted_in(state: project_rules.Project, fact: LessonRecorded | BenefitRealised) -> project_rules.Project:
    """The project with one more lesson or realisation counted."""
    field = "lessons" if isinstance(fact, LessonRecorded) else "realisations"
    return state.model_copy(update={field: getattr(state, field) + 1})


def project_columns(state: project_rules.Project, event: RecordedEvent) -> dict[str, Any]:
    """The row's columns besides its key and state after `event` (the rebuild's fold writes the same)."""
    return {
        "portfolio_id": state.portfolio_id,
        "status": state.status,
        "stage": state.stage,
        "version": event.sequence,
        "updated_at": event.time,
    }


async def learn_lessons(session: AsyncSession, event: RecordedEvent) -> None:
    """Each recorded lesson joins the library."""
    if event.type == LessonRecorded.type_name():
        recorded = event.decode()
        assert isinstance(recorded, LessonRecorded)
        await lessons.learn(session, recorded)


PROJECTORS = [update_projects, learn_lessons]
VIEW_TABLES = [projects, *lessons.tables]
