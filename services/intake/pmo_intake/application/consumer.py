"""What intake does with the portfolio service's events: learn portfolios, objectives and lessons, mirror the board."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import CursorResult, Table, update
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
        for event in events:
            # A proposal intake does not know: the command would do nothing.
            if event.type in _MIRRORED and (await uow.load(commands.PROPOSAL, _proposal_of(event))).version:
                with consuming(event, consumer):
                    await _mirror(uow, event)
                continue
            with applying(event, consumer):
                learn = _LEARNERS.get(event.type)
                if learn is not None:
                    await learn(session, event.decode())
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
    await session.execute(
        update(known_objectives)
        .where(known_objectives.c.objective_id == retired.objective_id)
        .values(retired=True, updated_at=datetime.now(UTC))
    )


async def _programme_created(session: AsyncSession, created: Event) -> None:
    """A programme a proposal of its portfolio may ask to join."""
    assert isinstance(created, ProgrammeCreated)
    values = {"portfolio_id": created.portfolio_id, "name": created.name, "closed": False}
    await _upsert(session, known_programmes, "programme_id", created.programme_id, values)


async def _tranche_reviewed(session: AsyncSession, reviewed: Event) -> None:
    """A `close_programme` review closes the programme: no proposal asks to join it any more."""
    assert isinstance(reviewed, TrancheReviewed)
    if reviewed.decision == "close_programme":
        await session.execute(
            update(known_programmes).where(known_programmes.c.programme_id == reviewed.programme_id).values(closed=True)
        )


async def _lesson_recorded(session: AsyncSession, recorded: Event) -> None:
    """Another team learned something: keep it, and its words, to offer to proposals that need it."""
    assert isinstance(recorded, LessonRecorded)
    await lessons.learn(session, recorded)


async def _upsert(session: AsyncSession, table: Table, key: str, key_value: str, values: Mapping[str, object]) -> None:
    changed: CursorResult[Any] = await session.execute(  # type: ignore[assignment]
        update(table).where(table.c[key] == key_value).values(**values)
    )
    if changed.rowcount == 0:
        defaults = {"retired": False, "title": ""} if table is known_objectives else {"name": ""}
        await session.execute(table.insert().values(**{**defaults, **values, key: key_value}))


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
