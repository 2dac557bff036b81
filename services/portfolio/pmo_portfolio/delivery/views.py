"""The projects view and the lesson library: written in each command's transaction."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Column, Index, Integer, String, Table, Text, select
from sqlalchemy.ext.asyncio import AsyncSession

from pmo_events.contracts.portfolio import BenefitRealised, LessonRecorded, StatusReported
from pmo_events.envelope import RecordedEvent, loads
from pmo_events.runtime import UnitOfWork, pgdirect
from pmo_events.runtime.fulltext import TextIndex
from pmo_events.runtime.lessons import LessonLibrary, lesson_table
from pmo_events.runtime.schema import UtcDateTime, metadata
from pmo_events.runtime.store import GuardedRow, UpsertRows
from pmo_events.runtime.unit_of_work import state_after
from pmo_portfolio.delivery.domain import project as project_rules
from pmo_portfolio.shared.projecting import projects_on

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

#: The row's columns besides its key, as `update_projects` writes them (on PostgreSQL through asyncpg, fixed text).
_COLUMNS = ("portfolio_id", "status", "stage", "version", "state", "updated_at")
#: The row read to fold an event of a multi-event append into (all but its last, `_written_from_command`), locked:
#: read unlocked, a lesson counted meanwhile (`_count`, committed before this transaction's write) was written over.
_READ = "SELECT state FROM portfolio_projects WHERE project_id = $1 FOR UPDATE"
_INSERT = pgdirect.values_insert(projects, ("project_id", *_COLUMNS))
_UPDATE = pgdirect.values_update(projects, "project_id", _COLUMNS)
_FEED = pgdirect.ArrayColumns(projects, ("project_id", *_COLUMNS))
#: `session.info`'s key for the projects `update_projects` wrote in the session's transaction (`_written`).
_WRITTEN = "pmo_portfolio_projects_written"

#: Every lesson recorded, with its words in a full-text index, to offer to the projects it is relevant to.
lessons = LessonLibrary(lesson_table("portfolio_lessons", metadata), TextIndex("portfolio_lesson_text"))


@projects_on(LessonRecorded, BenefitRealised, stream_types=("project",))
async def update_projects(session: AsyncSession, event: RecordedEvent) -> None:
    """The project as its own stream has it, with its lessons and benefit realisations counted: those are
    on streams of their own (or, recorded before, on the project's), so they are counted by type.

    The row's state is kept in the session (`written_project`) for the command's answer: no read of the row
    it has just written. On PostgreSQL the row is read and written through asyncpg (fixed text, no compile), or,
    when the command gave its append the state after (`state_after`), written from that state without a read."""
    decoded = event.decode()
    if isinstance(decoded, LessonRecorded | BenefitRealised):
        await _count(session, decoded)
    if event.stream_type != "project":
        return
    stream = event.stream_id
    if pgdirect.on_asyncpg(session) and await _written_from_command(session, event):
        return
    before = await _stored_state(session, stream)
    stored = before is not None
    state = project_rules.Project.model_validate(loads(before)) if before is not None else project_rules.initial(stream)
    state = project_rules.evolve(state, decoded)
    text = state.model_dump_json()
    values = {**project_columns(state, event), "state": text}
    if pgdirect.on_asyncpg(session):
        await pgdirect.fetch(session, _UPDATE if stored else _INSERT, *_FEED.row({"project_id": stream, **values}))
    elif not stored:
        await session.execute(projects.insert().values(project_id=stream, **values))
    else:
        await session.execute(projects.update().where(projects.c.project_id == stream).values(**values))
    _written(session)[stream] = (text, event.sequence)


#: The counts as the project's own fold leaves them (never counted there), spliced with the row's (`_SPLICE`).
_UNCOUNTED = '"lessons":0,"realisations":0,'
_COUNTED = r'"lessons":\d+,"realisations":\d+,'
#: The row rewritten from the command's state, its counts kept: taken from the row as the UPDATE finds it (a
#: lesson counted by a transaction that commits first is kept: the UPDATE waits for its lock and reads again).
_SPLICE = (
    _UPDATE.replace(
        "state = $6::TEXT,",
        f"state = replace($6::TEXT, '{_UNCOUNTED}', coalesce(substring(state from '{_COUNTED}'), '{_UNCOUNTED}')),",
    )
    + f" RETURNING substring(state from '{_COUNTED}')"
)


#: The counts the row holds, read before a report writes it (`guard_report_row`; NULL: a row without them).
_COUNTS = f"SELECT substring(state from '{_COUNTED}') FROM portfolio_projects WHERE project_id = $1"
#: The row still counts what the report read: a lesson or realisation counted since makes the report a lost race.
_SAME_COUNTS = f"substring(state from '{_COUNTED}') IS NOT DISTINCT FROM {{0}}::TEXT"
_REPORTED = StatusReported.type_name()


async def guard_report_row(uow: UnitOfWork, state: project_rules.Project, version: int) -> str | None:
    """A status report's row, written with its event in ONE statement with no session (PostgreSQL): the state the
    command folded (`state`, at `version`) with the counts the row holds now spliced in, rewritten only where the
    row still holds those counts (`GuardedRow`: else nothing is written and the report is decided again). The
    row's text, for the answer; None (nothing guarded: the report's append takes the ordinary path, whose
    projector writes the row) on SQLite, with no row, or for a state the fold counted lessons in."""
    if not uow.defers_writes or state.lessons or state.realisations:
        return None
    text = state.model_dump_json()
    if text.count(_UNCOUNTED) != 1:
        return None
    found = await pgdirect.fetch(uow.reads, _COUNTS, state.project_id, begin=False)
    if not found:
        return None
    counts = found[0][0]
    written = text.replace(_UNCOUNTED, counts or _UNCOUNTED, 1)
    row = {"project_id": state.project_id, **_columns(state, version, uow.meta.occurred_at), "state": written}
    uow.guard_at_end(GuardedRow(projects, "project_id", row, _SAME_COUNTS, (counts,)))
    return written


_COUNTS_WRITTEN = re.compile(_COUNTED.replace(r"\d+", r"(\d+)"))


def written_state(state: project_rules.Project, text: str) -> project_rules.Project:
    """The project `guard_report_row` wrote as `text`: the command's `state` (whose text it is) with the counts
    spliced into it, without parsing and validating the text again (a report's answer shows it). Equal to
    `Project.model_validate(loads(text))`: every field of a report's state is written as JSON losslessly (money
    as `format(v, "f")`, SPI and CPI as text, instants in full), and the counts are the only place the text was
    changed; inside a JSON string a quote is escaped, so only the counts' own place matches."""
    found = _COUNTS_WRITTEN.search(text)
    if found is None:  # not a text guard_report_row wrote: as a read takes it
        return project_rules.Project.model_validate(loads(text))
    counts = {"lessons": int(found[1]), "realisations": int(found[2])}
    return state.model_copy(update=counts) if any(counts.values()) else state


def reports_rows(events: Sequence[RecordedEvent], states: dict[str, Any]) -> list[UpsertRows] | None:
    """Portfolio's views' rows for a command's events (`InlineViews.upserts`), when they are status reports the
    command decided with `guard_report_row`: none but the project's, which that guarded row writes (no other view
    follows a report: every concept's projector passes it over). None (the projectors run) for anything else, or a
    state that `guard_report_row` leaves to the projector."""
    for event in events:
        state = states.get(event.stream_id)
        if event.type != _REPORTED or event.stream_type != "project" or not isinstance(state, project_rules.Project):
            return None
        if state.lessons or state.realisations:
            return None
    return []


async def _written_from_command(session: AsyncSession, event: RecordedEvent) -> bool:
    """The row written from the state the command gave its append (`state_after`), with the counts the row holds,
    in ONE statement: no read of the row, no validation and fold of its state (PostgreSQL). False (nothing
    written) when there is no such state, the row is missing, or the state's text is not as expected."""
    state = state_after(session, event)
    if not isinstance(state, project_rules.Project) or state.lessons or state.realisations:
        return False
    text = state.model_dump_json()
    if text.count(_UNCOUNTED) != 1:
        return False
    values = {**project_columns(state, event), "state": text}
    rows = await pgdirect.fetch(session, _SPLICE, *_FEED.row({"project_id": event.stream_id, **values}))
    if not rows:
        return False
    _written(session)[event.stream_id] = (text.replace(_UNCOUNTED, rows[0][0] or _UNCOUNTED, 1), event.sequence)
    return True


async def _stored_state(session: AsyncSession, project_id: str) -> str | None:
    if pgdirect.on_asyncpg(session):
        rows = await pgdirect.fetch(session, _READ, project_id)
        return rows[0][0] if rows else None
    read = select(projects.c.state).where(projects.c.project_id == project_id).with_for_update()
    row = (await session.execute(read)).first()
    return row.state if row else None


def written_project(session: AsyncSession, project_id: str) -> tuple[str, int] | None:
    """The project's row (its state's text, its version) as `update_projects` wrote it in this session's
    transaction (or the savepoint it is in), or None when it did not: the row is then read. The text, not the
    state in hand: a read validates it (ratios at four places, for one), and the answer shows what a read shows."""
    return _written(session).get(project_id)


def _written(session: AsyncSession) -> dict[str, tuple[str, int]]:
    """The projects written in the session's current transaction (a savepoint rolled back leaves its own behind:
    the next one is another transaction)."""
    sync = session.sync_session
    current = sync.get_nested_transaction() or sync.get_transaction()
    found = session.info.get(_WRITTEN)
    if found is None or found[0] is not current:
        found = session.info[_WRITTEN] = (current, {})
    return found[1]


async def _count(session: AsyncSession, fact: LessonRecorded | BenefitRealised) -> None:
    """One more lesson or realisation in the project's row. The row is read FOR UPDATE (PostgreSQL; SQLite has one
    writer at a time) and its whole state written back: a report committed between an unlocked read and the write
    would be lost from the row until a rebuild."""
    read = select(projects.c.state).where(projects.c.project_id == fact.project_id).with_for_update()
    row = (await session.execute(read)).first()
    if row is None:
        return
    _written(session).pop(fact.project_id, None)  # the row changes here: read again after
    counted = counted_in(project_rules.Project.model_validate(loads(row.state)), fact)
    written = counted.model_dump_json()
    await session.execute(projects.update().where(projects.c.project_id == fact.project_id).values(state=written))


def counted_in(state: project_rules.Project, fact: LessonRecorded | BenefitRealised) -> project_rules.Project:
    """The project with one more lesson or realisation counted."""
    field = "lessons" if isinstance(fact, LessonRecorded) else "realisations"
    return state.model_copy(update={field: getattr(state, field) + 1})


def project_columns(state: project_rules.Project, event: RecordedEvent) -> dict[str, Any]:
    """The row's columns besides its key and state after `event` (the rebuild's fold writes the same)."""
    return _columns(state, event.sequence, event.time)


def _columns(state: project_rules.Project, version: int, updated_at: datetime) -> dict[str, Any]:
    return {
        "portfolio_id": state.portfolio_id,
        "status": state.status,
        "stage": state.stage,
        "version": version,
        "updated_at": updated_at,
    }


@projects_on(LessonRecorded)
async def learn_lessons(session: AsyncSession, event: RecordedEvent) -> None:
    """Each recorded lesson joins the library."""
    if event.type == LessonRecorded.type_name():
        recorded = event.decode()
        assert isinstance(recorded, LessonRecorded)
        await lessons.learn(session, recorded)


PROJECTORS = [update_projects, learn_lessons]
VIEW_TABLES = [projects, *lessons.tables]
