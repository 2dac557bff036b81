"""The portfolio review cycle's adapter: run one (now, or every portfolio's that is due) and read the cycles run.

Each portfolio's cycles are a stream of their own (`review-cycles-<portfolio_id>`): running one moves neither the
portfolio's version nor any project's, so it contends with no decision. The cycle reads the assessments and the
projects' statuses from the views, in its own transaction."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from pmo_events.contracts.base import Event
from pmo_events.contracts.portfolio import PortfolioReprioritised
from pmo_events.runtime import (
    AggregateType,
    CommandRuntime,
    ConcurrencyConflict,
    Database,
    EventStore,
    Loaded,
    Metadata,
    UnitOfWork,
    fold,
)
from pmo_portfolio.candidates import scorecard
from pmo_portfolio.delivery.domain import reprioritisation
from pmo_portfolio.delivery.domain.reprioritisation import cycle_stream
from pmo_portfolio.delivery.views import projects
from pmo_portfolio.funding import PORTFOLIO, load_portfolio_in, portfolio_ids
from pmo_portfolio.shared.errors import NotFound

log = logging.getLogger(__name__)


class CycleLog(BaseModel):
    """How many cycles a portfolio has had, and when the last one ran."""

    stream_id: str
    cycles: int = 0
    last_run_at: datetime | None = None


def initial(stream_id: str) -> CycleLog:
    return CycleLog(stream_id=stream_id)


def evolve(state: CycleLog, event: Event) -> CycleLog:
    if isinstance(event, PortfolioReprioritised):
        return state.model_copy(update={"cycles": event.cycle, "last_run_at": event.run_at})
    return state


CYCLES = AggregateType("review_cycle", initial, evolve, CycleLog)


async def project_statuses(session: AsyncSession, portfolio_id: str) -> dict[str, str]:
    query = select(projects.c.project_id, projects.c.status).where(projects.c.portfolio_id == portfolio_id)
    return {row.project_id: row.status for row in await session.execute(query)}


async def run_cycle(
    uow: UnitOfWork, portfolio_id: str, run_by: str, now: datetime, *, cycles: Loaded[CycleLog] | None = None
) -> tuple[dict[str, Any], int]:
    """Re-score the running projects with the portfolio's current model and rank them with the pipeline; the cycle
    as recorded and its number. Given `cycles` (the stream as a due check read it), the cycle is appended on that
    version, so a cycle another run recorded since answers ConcurrencyConflict rather than running twice."""
    portfolio = await uow.load(PORTFOLIO, portfolio_id)
    if not portfolio.state.exists:
        raise NotFound(f"portfolio {portfolio_id}")
    board_scores = await scorecard(uow.session, portfolio_id)
    statuses = await project_statuses(uow.session, portfolio_id)
    cycles = cycles or await uow.load(CYCLES, cycle_stream(portfolio_id))
    new_events = reprioritisation.reprioritise(
        portfolio.state, board_scores, statuses, cycle=cycles.state.cycles + 1, model_version=portfolio.version,
        run_by=run_by, run_at=now,
    )  # fmt: skip
    after = fold(CYCLES, cycles.state, new_events)
    await uow.append(CYCLES, cycle_stream(portfolio_id), cycles.version, new_events, after)
    [event] = new_events
    assert isinstance(event, PortfolioReprioritised)
    return cycle_view(event), event.cycle


async def run_due(runtime: CommandRuntime, now: datetime, meta: Metadata) -> dict[str, int]:
    """The scheduler's trigger: each portfolio with a scoring model whose cycle is due runs one, each in its own
    transaction, appended on its cycle stream's version: replicas running it at once run each cycle once. Run by
    `meta`'s actor (the analyst who called the endpoint, or the scheduler)."""
    async with runtime.db.sessions() as session:
        ids = await portfolio_ids(session)
    counted = {"cycles_run": 0}
    for portfolio_id in ids:
        try:
            async with runtime.unit_of_work(meta) as uow:
                portfolio, _ = await load_portfolio_in(uow.session, portfolio_id)
                cycles = await uow.load(CYCLES, cycle_stream(portfolio_id))
                if portfolio.scoring_model is None or not reprioritisation.is_due(
                    portfolio.cycle_every_days, cycles.state.last_run_at, now
                ):
                    continue
                # Appended on the version the due check read: a run that recorded the cycle meanwhile wins.
                await run_cycle(uow, portfolio_id, meta.actor or "pmo-portfolio", now, cycles=cycles)
        except ConcurrencyConflict:
            log.info("portfolio %s ran its review cycle elsewhere meanwhile", portfolio_id)
            continue
        counted["cycles_run"] += 1
    return counted


async def cycles_of(db: Database, store: EventStore, portfolio_id: str) -> list[dict[str, Any]]:
    """The portfolio's review cycles, newest first (404 for an unknown portfolio)."""
    async with db.sessions() as session:
        await load_portfolio_in(session, portfolio_id)
        recorded = await store.load(session, cycle_stream(portfolio_id))
    found = [e.decode() for e in recorded]
    return [cycle_view(e) for e in reversed(found) if isinstance(e, PortfolioReprioritised)]


def cycle_view(event: PortfolioReprioritised) -> dict[str, Any]:
    """A cycle as clients see it: its number is its id; scores and weights as recorded (fixed places)."""
    return {"id": str(event.cycle), **event.model_dump(mode="json")}
