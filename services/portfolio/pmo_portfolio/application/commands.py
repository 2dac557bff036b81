"""Portfolio command handlers: load → decide (pure domain) → append, in one transaction."""

from __future__ import annotations

from sqlalchemy import select

from pmo_events.contracts.intake import ProposalSubmitted
from pmo_events.contracts.portfolio import CandidateRegistered, InvestmentDecided
from pmo_events.envelope import loads
from pmo_events.runtime import AggregateType, CommandRuntime, Metadata, UnitOfWork, fold
from pmo_portfolio.adapters.db.tables import candidates
from pmo_portfolio.domain import portfolio as portfolio_rules
from pmo_portfolio.domain import project as project_rules
from pmo_portfolio.domain.errors import NotFound
from pmo_portfolio.domain.portfolio import CreatePortfolio, DecideInvestment, Portfolio
from pmo_portfolio.domain.project import Project

PORTFOLIO = AggregateType("portfolio", portfolio_rules.initial, portfolio_rules.evolve, Portfolio)
PROJECT = AggregateType("project", project_rules.initial, project_rules.evolve, Project)


async def create_portfolio(runtime: CommandRuntime, command: CreatePortfolio, meta: Metadata) -> tuple[Portfolio, int]:
    new_events = portfolio_rules.create(command)
    async with runtime.unit_of_work(meta) as uow:
        await uow.append(PORTFOLIO, command.portfolio_id, 0, new_events)
    return fold(PORTFOLIO, portfolio_rules.initial(command.portfolio_id), new_events), len(new_events)


async def decide_investment(
    runtime: CommandRuntime, portfolio_id: str, command: DecideInvestment, meta: Metadata
) -> InvestmentDecided:
    """Record the board's decision; an approval also initiates the project (same id as the proposal)."""
    async with runtime.unit_of_work(meta) as uow:
        loaded = await uow.load(PORTFOLIO, portfolio_id)
        if not loaded.state.exists:
            raise NotFound(f"portfolio {portfolio_id}")
        new_events = portfolio_rules.decide(loaded.state, command)
        state_after = fold(PORTFOLIO, loaded.state, new_events)
        await uow.append(PORTFOLIO, portfolio_id, loaded.version, new_events, state_after)
        decision = new_events[0]
        assert isinstance(decision, InvestmentDecided)
        if decision.outcome == "approve":
            await _initiate_project(uow, decision)
    return decision


async def _initiate_project(uow: UnitOfWork, decision: InvestmentDecided) -> None:
    row = (
        await uow.session.execute(
            select(candidates.c.registration).where(candidates.c.candidate_id == decision.candidate_id)
        )
    ).first()
    if row is None:
        raise NotFound(f"candidate {decision.candidate_id}")
    registration = CandidateRegistered.model_validate(loads(row.registration))
    loaded = await uow.load(PROJECT, decision.candidate_id)
    await uow.append(
        PROJECT, decision.candidate_id, loaded.version, project_rules.initiate(loaded.state, decision, registration)
    )


async def register_candidate(uow: UnitOfWork, submitted: ProposalSubmitted) -> None:
    """From intake's event: the proposal becomes (or updates) a candidate of its portfolio."""
    loaded = await uow.load(PORTFOLIO, submitted.portfolio_id)
    new_events = portfolio_rules.register_candidate(loaded.state, submitted)
    state_after = fold(PORTFOLIO, loaded.state, new_events)
    await uow.append(PORTFOLIO, submitted.portfolio_id, loaded.version, new_events, state_after)
