"""What intake does with the portfolio service's events: learn portfolios, objectives and lessons, mirror the board."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
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
from pmo_events.runtime import CommandRuntime, Metadata
from pmo_events.runtime.subscription import Handler
from pmo_intake.adapters.db.tables import known_objectives, known_portfolios, known_programmes, lessons
from pmo_intake.application import commands
from pmo_intake.domain.lifecycle import BoardDecision


def make_handler(runtime: CommandRuntime) -> Handler:
    async def handle(session: AsyncSession, event: RecordedEvent) -> None:
        learn = _LEARNERS.get(event.type)
        if learn is not None:
            await learn(session, event.decode())
        elif event.type == CandidateScored.type_name():
            scored = event.decode()
            assert isinstance(scored, CandidateScored)
            async with runtime.in_session(session, Metadata.caused_by(event, actor=scored.assessor)) as uow:
                await commands.start_review(
                    uow,
                    scored.candidate_id,  # one id from intake to closure: candidate id = proposal id
                    assessor=scored.assessor,
                    scored_at=scored.scored_at,
                    scoring_event_id=event.event_id,
                    submission=scored.submission,
                )
        elif event.type == InvestmentDecided.type_name():
            decided = event.decode()
            assert isinstance(decided, InvestmentDecided)
            decision = BoardDecision(
                outcome=decided.outcome,
                rationale=decided.rationale,
                decided_by=decided.decided_by,
                decided_at=decided.decided_at,
                decision_event_id=event.event_id,
                review_on=decided.review_on,
            )
            async with runtime.in_session(session, Metadata.caused_by(event, actor=decided.decided_by)) as uow:
                await commands.record_portfolio_decision(uow, decided.proposal_id, decision)

    return handle


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
