"""What resourcing does with the portfolio's events: know project states, raise and cancel demand."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from pmo_events.contracts.portfolio import (
    FiscalCalendarSet,
    ProjectCancelled,
    ProjectClosed,
    ProjectInitiated,
    ProjectManagerAssigned,
    ProjectPaused,
    ProjectResumed,
)
from pmo_events.envelope import RecordedEvent
from pmo_events.runtime import AggregateType, CommandRuntime, Metadata, UnitOfWork
from pmo_events.runtime.subscription import BatchHandler, Handler
from pmo_events.runtime.tracing import applying, consuming
from pmo_resourcing.adapters.db.tables import project_states
from pmo_resourcing.application.allocations import release_project_bookings
from pmo_resourcing.application.fiscal_calendar import remember_calendar
from pmo_resourcing.domain import demand as rules

PROJECT_DEMAND = AggregateType("project_demand", rules.initial, rules.evolve, rules.ProjectDemand)

#: The portfolio's project endings resourcing acts on, and the project status each leaves behind.
PROJECT_ENDINGS: dict[str, str] = {ProjectCancelled.type_name(): "cancelled", ProjectClosed.type_name(): "closed"}


def make_handler(commands: CommandRuntime) -> Handler:
    async def handle(session: AsyncSession, event: RecordedEvent) -> None:
        meta = Metadata.caused_by(event)
        if event.type == ProjectInitiated.type_name():
            initiated = event.decode()
            assert isinstance(initiated, ProjectInitiated)
            await _remember(session, initiated.project_id, "active", event, initiated.portfolio_id, initiated.title)
            async with commands.in_session(session, meta) as uow:
                await raise_project_demand(uow, initiated)
        elif event.type in PROJECT_ENDINGS:
            ended = event.decode()
            assert isinstance(ended, ProjectCancelled | ProjectClosed)
            status = PROJECT_ENDINGS[event.type]
            await _remember(session, ended.project_id, status, event)
            async with commands.in_session(session, meta) as uow:
                await end_project(uow, ended, status=status, day=ended.effective_on or event.time.date())
        elif event.type == ProjectPaused.type_name():
            paused = event.decode()
            assert isinstance(paused, ProjectPaused)
            await _remember(session, paused.project_id, "paused", event)
            async with commands.in_session(session, meta) as uow:
                await pause_project(uow, paused)
        elif event.type == ProjectResumed.type_name():
            resumed = event.decode()
            assert isinstance(resumed, ProjectResumed)
            await _remember(session, resumed.project_id, "active", event)
        elif event.type == FiscalCalendarSet.type_name():
            calendar = event.decode()
            assert isinstance(calendar, FiscalCalendarSet)
            await remember_calendar(session, calendar)
        elif event.type == ProjectManagerAssigned.type_name():
            assigned = event.decode()
            assert isinstance(assigned, ProjectManagerAssigned)
            await _assign(session, assigned)

    return handle


def make_batch_handler(commands: CommandRuntime, consumer: str) -> BatchHandler:
    """A poll's events in order, in one unit of work. The common ones (a project initiated or resumed) are
    applied in memory: every project's demand they name loaded once, the project states they change written
    at the end (one read, one insert, one update), and the demand they raise written with its outbox
    records in one statement. Any other event the handler acts on (a project ended or paused, a calendar,
    a manager) first sends all that, then is applied as one at a time, in its consumer span."""
    handle_one = make_handler(commands)

    async def handle(session: AsyncSession, events: Sequence[RecordedEvent]) -> None:
        await _lock_releasing_projects(session, events)
        uow = commands.for_poll(session)
        states = _ProjectStates()
        initiated = [event.decode() for event in events if event.type == ProjectInitiated.type_name()]
        await uow.prefetch(PROJECT_DEMAND, [e.project_id for e in initiated if isinstance(e, ProjectInitiated)])
        for event in events:
            if event.type == ProjectInitiated.type_name():
                started = event.decode()
                assert isinstance(started, ProjectInitiated)
                with consuming(event, consumer):
                    states.remember(started.project_id, "active", event, started.portfolio_id, started.title)
                    uow.meta = Metadata.caused_by(event)
                    await raise_project_demand(uow, started)
            elif event.type == ProjectResumed.type_name():
                resumed = event.decode()
                assert isinstance(resumed, ProjectResumed)
                with applying(event, consumer):
                    states.remember(resumed.project_id, "active", event)
            elif event.type in _ONE_AT_A_TIME:
                await states.write(session)
                await uow.end()
                # A fresh unit of work after it: the event's own may append to the demand this one holds.
                uow = commands.for_poll(session)
                with consuming(event, consumer):
                    await handle_one(session, event)
            else:
                with applying(event, consumer):
                    pass  # not one resourcing acts on
        await states.write(session)
        await uow.end()

    return handle


#: The events a poll applies one at a time, after sending what the poll decided before them: they read views.
_ONE_AT_A_TIME = frozenset(
    {
        *PROJECT_ENDINGS,
        ProjectPaused.type_name(),
        FiscalCalendarSet.type_name(),
        ProjectManagerAssigned.type_name(),
    }
)


#: The events after which the consumer releases bookings, i.e. appends to resource calendars.
_RELEASING = frozenset({*PROJECT_ENDINGS, ProjectPaused.type_name()})


async def _lock_releasing_projects(session: AsyncSession, events: Sequence[RecordedEvent]) -> None:
    """Lock the rows of every project the poll ends or pauses before anything of the poll touches a resource
    calendar: a booking holds its project's row (FOR SHARE, `allocations.project_still_active`) and then appends to
    the resource's calendar, so the poll takes them in the same order (project rows first, calendars second).
    Otherwise a poll that released project Q's booking on a person and then changed project P's row deadlocks
    with a booking of that person on P. In the order of the ids: two polls never wait for each other in a cycle.
    PostgreSQL only (SQLite writes one transaction at a time; SQLAlchemy renders no FOR UPDATE there)."""
    ids: set[str] = set()
    for event in events:
        if event.type in _RELEASING:
            ending = event.decode()
            assert isinstance(ending, ProjectCancelled | ProjectClosed | ProjectPaused)
            ids.add(ending.project_id)
    if not ids:
        return
    where = project_states.c.project_id.in_(sorted(ids))
    query = select(project_states.c.project_id).where(where).order_by(project_states.c.project_id)
    await session.execute(query.with_for_update(key_share=True))  # FOR NO KEY UPDATE: as the UPDATE's own lock


class _ProjectStates:
    """`_remember` for a run of a poll's events: each project's changes merged in order, written at once."""

    def __init__(self) -> None:
        self.changes: dict[str, dict[str, Any]] = {}

    def remember(
        self,
        project_id: str,
        status: str,
        event: RecordedEvent,
        portfolio_id: str | None = None,
        title: str | None = None,
    ) -> None:
        values = self.changes.setdefault(project_id, {})
        values.update(status=status, changed_at=event.time)
        if portfolio_id is not None:
            values.update(portfolio_id=portfolio_id, title=title)

    async def write(self, session: AsyncSession) -> None:
        if not self.changes:
            return
        changes, self.changes = self.changes, {}
        query = select(project_states.c.project_id).where(project_states.c.project_id.in_(list(changes)))
        existing = {row.project_id for row in await session.execute(query)}
        # Rows of one statement need the same keys: group by which columns each change sets.
        groups: dict[tuple[bool, tuple[str, ...]], list[dict[str, Any]]] = {}
        for project_id, values in changes.items():
            groups.setdefault((project_id in existing, tuple(sorted(values))), []).append(
                {"project_id": project_id, **values}
            )
        for (exists, names), rows in groups.items():
            if not exists:
                await session.execute(project_states.insert(), rows)
                continue
            statement = (
                project_states.update()
                .where(project_states.c.project_id == bindparam("b_project_id"))
                .values({name: bindparam(f"b_{name}") for name in names})
            )
            await session.execute(statement, [{f"b_{k}": v for k, v in row.items()} for row in rows])


async def pause_project(uow: UnitOfWork, paused: ProjectPaused) -> None:
    """A paused project gives its people back from the pause on; its demand stays, to be booked again on resume."""
    reason = f"project paused: {paused.rationale}"
    await release_project_bookings(uow, paused.project_id, day=paused.paused_at.date(), reason=reason)


async def _assign(session: AsyncSession, assigned: ProjectManagerAssigned) -> None:
    """Who manages the project: that project manager may propose and release its bookings."""
    query = select(project_states.c.project_id).where(project_states.c.project_id == assigned.project_id)
    values: dict[str, Any] = {"project_manager": assigned.project_manager}
    if (await session.execute(query)).first() is None:
        values.update(status="active", changed_at=assigned.assigned_at, portfolio_id=assigned.portfolio_id)
        await session.execute(project_states.insert().values(project_id=assigned.project_id, **values))
    else:
        where = project_states.c.project_id == assigned.project_id
        await session.execute(project_states.update().where(where).values(**values))


async def raise_project_demand(uow: UnitOfWork, initiated: ProjectInitiated) -> None:
    loaded = await uow.load(PROJECT_DEMAND, initiated.project_id)
    await uow.append(PROJECT_DEMAND, initiated.project_id, loaded.version, rules.raise_demand(loaded.state, initiated))


async def end_project(uow: UnitOfWork, ended: ProjectCancelled | ProjectClosed, *, status: str, day: date) -> None:
    """A cancelled or closed project: its open demand is cancelled, its bookings released from `day`."""
    reason = f"project {status}" + (f": {ended.reason}" if ended.reason else "")
    loaded = await uow.load(PROJECT_DEMAND, ended.project_id)
    new_events = rules.cancel_demand(loaded.state, reason=reason)
    await uow.append(PROJECT_DEMAND, ended.project_id, loaded.version, new_events)
    await release_project_bookings(uow, ended.project_id, day=day, reason=reason)


async def _remember(
    session: AsyncSession,
    project_id: str,
    status: str,
    event: RecordedEvent,
    portfolio_id: str | None = None,
    title: str | None = None,
) -> None:
    row = (await session.execute(select(project_states).where(project_states.c.project_id == project_id))).first()
    values: dict[str, Any] = {"status": status, "changed_at": event.time}
    if portfolio_id is not None:
        values.update(portfolio_id=portfolio_id, title=title)
    if row is None:
        await session.execute(project_states.insert().values(project_id=project_id, **values))
    else:
        await session.execute(project_states.update().where(project_states.c.project_id == project_id).values(**values))
