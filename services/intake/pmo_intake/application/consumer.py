"""What intake does with the portfolio service's events: learn portfolios, objectives and lessons, mirror the board."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import CursorResult, Table, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from pmo_events.contracts.base import Event
from pmo_events.contracts.portfolio import (
    CandidateScored,
    InvestmentDecided,
    LessonRecorded,
    ObjectiveCreated,
    ObjectiveRetired,
    ObjectiveUpdated,
    PortfolioBudgetSet,
    PortfolioCreated,
    ProgrammeCreated,
    TrancheReviewed,
)
from pmo_events.envelope import RecordedEvent, dumps
from pmo_events.runtime import CommandRuntime, Metadata, UnitOfWork
from pmo_events.runtime.subscription import BatchHandler, Handler
from pmo_events.runtime.tracing import applying, consuming
from pmo_intake.adapters.db.tables import known_objectives, known_portfolios, known_programmes, lessons
from pmo_intake.application import commands
from pmo_intake.domain.lifecycle import BoardDecision


def make_handler(runtime: CommandRuntime) -> Handler:
    """One event at a time (a poll that failed as a whole is applied again this way, to set the failing event
    aside); the subscription opened the event's consumer span around it."""

    async def handle(session: AsyncSession, event: RecordedEvent) -> None:
        learn = _LEARNERS.get(event.type)
        if learn is not None:
            await learn(session, event.decode())
        elif event.type in _MIRRORED:
            async with runtime.in_session(session, Metadata()) as uow:
                await _mirror(uow, event)

    return handle


def make_batch_handler(runtime: CommandRuntime, consumer: str) -> BatchHandler:
    """A poll's events in order, in one unit of work: every proposal they name loaded once (two statements),
    each command run on what the poll's earlier events left, and all the events they record written with
    their outbox records in one statement, the proposals view in one read and one write. Each event that
    issues a command does so in its own consumer span (the recorded events carry its trace context, as
    one at a time); the portfolio and objective facts intake learns are written as they come."""

    async def handle(session: AsyncSession, events: Sequence[RecordedEvent]) -> None:
        uow = runtime.for_poll(session)
        await uow.prefetch(commands.PROPOSAL, [_proposal_of(e) for e in events if e.type in _MIRRORED])
        learned = _Learned()
        for event in events:
            # A proposal intake does not know: the command would do nothing.
            if event.type in _MIRRORED and (await uow.load(commands.PROPOSAL, _proposal_of(event))).version:
                with consuming(event, consumer):
                    await _mirror(uow, event)
                continue
            with applying(event, consumer):
                learn = _LEARNERS.get(event.type)
                if learn is not None:
                    await learn(learned.on(session), event.decode())
        await learned.write(session)
        await uow.end()

    return handle


async def _mirror(uow: UnitOfWork, event: RecordedEvent) -> None:
    """The board's score or decision on the proposal, as the command that follows it (caused by `event`)."""
    decoded = event.decode()
    if isinstance(decoded, CandidateScored):
        uow.meta = Metadata.caused_by(event, actor=decoded.assessor)
        await commands.start_review(
            uow,
            decoded.candidate_id,  # one id from intake to closure: candidate id = proposal id
            assessor=decoded.assessor,
            scored_at=decoded.scored_at,
            scoring_event_id=event.event_id,
            submission=decoded.submission,
        )
    elif isinstance(decoded, InvestmentDecided):
        decision = BoardDecision(
            outcome=decoded.outcome,
            rationale=decoded.rationale,
            decided_by=decoded.decided_by,
            decided_at=decoded.decided_at,
            decision_event_id=event.event_id,
            review_on=decoded.review_on,
        )
        uow.meta = Metadata.caused_by(event, actor=decoded.decided_by)
        await commands.record_portfolio_decision(uow, decoded.proposal_id, decision)


def _proposal_of(event: RecordedEvent) -> str:
    decoded = event.decode()
    assert isinstance(decoded, CandidateScored | InvestmentDecided)
    return decoded.candidate_id if isinstance(decoded, CandidateScored) else decoded.proposal_id


#: The portfolio's events intake mirrors on the proposal with a command of its own.
_MIRRORED = frozenset({CandidateScored.type_name(), InvestmentDecided.type_name()})


async def _portfolio_created(session: AsyncSession, created: Event) -> None:
    assert isinstance(created, PortfolioCreated)
    periods = sorted(b.fiscal_period for b in created.budget)
    values = {"name": created.name, "fiscal_periods": dumps(periods).decode(), "currency": created.currency}
    await _upsert(session, known_portfolios, "portfolio_id", created.portfolio_id, values)


async def _budget_set(session: AsyncSession, budget_set: Event) -> None:
    """The envelope was replaced: costs are accepted in exactly these fiscal periods from now on."""
    assert isinstance(budget_set, PortfolioBudgetSet)
    periods = sorted(b.fiscal_period for b in budget_set.budget)
    values = {"fiscal_periods": dumps(periods).decode()}
    await _upsert(session, known_portfolios, "portfolio_id", budget_set.portfolio_id, values)


async def _objective_changed(session: AsyncSession, objective: Event) -> None:
    assert isinstance(objective, ObjectiveCreated | ObjectiveUpdated)
    values = {
        "title": objective.title,
        "period_start": objective.period_start,
        "period_end": objective.period_end,
        "portfolio_ids": dumps(list(objective.portfolio_ids)).decode(),
        "updated_at": datetime.now(UTC),
    }
    if isinstance(objective, ObjectiveCreated):
        values["retired"] = False
    await _upsert(session, known_objectives, "objective_id", objective.objective_id, values)


async def _objective_retired(session: AsyncSession, retired: Event) -> None:
    assert isinstance(retired, ObjectiveRetired)
    values = {"retired": True, "updated_at": datetime.now(UTC)}
    await _update(session, known_objectives, "objective_id", retired.objective_id, values)


async def _programme_created(session: AsyncSession, created: Event) -> None:
    """A programme a proposal of its portfolio may ask to join."""
    assert isinstance(created, ProgrammeCreated)
    values = {"portfolio_id": created.portfolio_id, "name": created.name, "closed": False}
    await _upsert(session, known_programmes, "programme_id", created.programme_id, values)


async def _tranche_reviewed(session: AsyncSession, reviewed: Event) -> None:
    """A `close_programme` review closes the programme: no proposal asks to join it any more."""
    assert isinstance(reviewed, TrancheReviewed)
    if reviewed.decision == "close_programme":
        await _update(session, known_programmes, "programme_id", reviewed.programme_id, {"closed": True})


async def _lesson_recorded(session: AsyncSession, recorded: Event) -> None:
    """Another team learned something: keep it, and its words, to offer to proposals that need it."""
    assert isinstance(recorded, LessonRecorded)
    await lessons.learn(_session_of(session), recorded)


async def _upsert(session: AsyncSession, table: Table, key: str, key_value: str, values: Mapping[str, object]) -> None:
    """The row's `values`, inserted (with the table's defaults) when there is no row yet."""
    if isinstance(session, _Learning):
        session.learned.upsert(table, key, key_value, values)
        return
    changed: CursorResult[Any] = await session.execute(  # type: ignore[assignment]
        update(table).where(table.c[key] == key_value).values(**values)
    )
    if changed.rowcount == 0:
        await session.execute(table.insert().values(**{**_DEFAULTS[table.name], **values, key: key_value}))


async def _update(session: AsyncSession, table: Table, key: str, key_value: str, values: Mapping[str, object]) -> None:
    """The row's `values`, when there is a row."""
    if isinstance(session, _Learning):
        await session.learned.update(session.session, table, key, key_value, values)
        return
    await session.execute(update(table).where(table.c[key] == key_value).values(**values))


#: What a row learned by `_upsert` holds in the columns its first event does not give.
_DEFAULTS: dict[str, dict[str, object]] = {
    known_objectives.name: {"retired": False, "title": ""},
    known_portfolios.name: {"name": ""},
    known_programmes.name: {"name": ""},
}


class _Learning:
    """The poll's session as a learner sees it: its rows go to `learned`, written at the poll's end."""

    __slots__ = ("learned", "session")

    def __init__(self, learned: _Learned, session: AsyncSession) -> None:
        self.learned = learned
        self.session = session


def _session_of(session: AsyncSession) -> AsyncSession:
    return session.session if isinstance(session, _Learning) else session


class _Learned:
    """The portfolio, objective and programme rows a poll's events teach, each folded in memory from its events
    in order and written at the poll's end in a few statements per table (one read of which rows exist, one
    insert and one update per set of columns), not one or two statements per event. The rows are the ones
    event by event writes: `_upsert`'s values merged in order; `_update`'s merged into a row the poll upserts
    (before or after it), else written as an update. An update met before the poll's first upsert of its row
    (whether that row exists is not known until it is read) is written at once, so the upsert that follows
    sees the row as event by event would. Nothing in the poll reads these tables, so writing them last is
    the same as writing them as they come."""

    def __init__(self) -> None:
        #: By table and key value: the table, its key column and the row's values so far.
        self._rows: dict[tuple[str, str], tuple[Table, str, dict[str, object]]] = {}

    def on(self, session: AsyncSession) -> AsyncSession:
        """What the learners are given instead of `session`."""
        return _Learning(self, session)  # type: ignore[return-value]

    def upsert(self, table: Table, key: str, key_value: str, values: Mapping[str, object]) -> None:
        found = self._rows.get((table.name, key_value))
        if found is None:
            self._rows[(table.name, key_value)] = (table, key, dict(values))
        else:
            found[2].update(values)

    async def update(
        self, session: AsyncSession, table: Table, key: str, key_value: str, values: Mapping[str, object]
    ) -> None:
        found = self._rows.get((table.name, key_value))
        if found is None:
            await session.execute(update(table).where(table.c[key] == key_value).values(**values))
        else:
            found[2].update(values)

    async def write(self, session: AsyncSession) -> None:
        by_table: dict[str, list[tuple[Table, str, str, dict[str, object]]]] = {}
        for (name, key_value), (table, key, values) in self._rows.items():
            by_table.setdefault(name, []).append((table, key, key_value, values))
        self._rows = {}
        for rows in by_table.values():
            table, key = rows[0][0], rows[0][1]
            column = table.c[key]
            ids = [key_value for _, _, key_value, _ in rows]
            existing = set((await session.execute(select(column).where(column.in_(ids)))).scalars())
            inserts: dict[tuple[str, ...], list[dict[str, object]]] = {}
            updates: dict[tuple[str, ...], list[dict[str, object]]] = {}
            for _, _, key_value, values in rows:
                if key_value in existing:
                    updates.setdefault(tuple(sorted(values)), []).append({"b_key": key_value, **{
                        f"b_{name}": value for name, value in values.items()
                    }})  # fmt: skip
                else:
                    row = {**_DEFAULTS[table.name], **values, key: key_value}
                    inserts.setdefault(tuple(sorted(row)), []).append(row)
            for names, values_rows in updates.items():
                statement = update(table).where(column == bindparam("b_key"))
                statement = statement.values({name: bindparam(f"b_{name}") for name in names})
                await session.execute(statement, values_rows)
            for values_rows in inserts.values():
                await session.execute(table.insert(), values_rows)


_LEARNERS: dict[str, Callable[[AsyncSession, Event], Awaitable[None]]] = {
    PortfolioCreated.type_name(): _portfolio_created,
    PortfolioBudgetSet.type_name(): _budget_set,
    ObjectiveCreated.type_name(): _objective_changed,
    ObjectiveUpdated.type_name(): _objective_changed,
    ObjectiveRetired.type_name(): _objective_retired,
    LessonRecorded.type_name(): _lesson_recorded,
    ProgrammeCreated.type_name(): _programme_created,
    TrancheReviewed.type_name(): _tranche_reviewed,
}
