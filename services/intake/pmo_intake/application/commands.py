"""Intake's command handlers: load the proposal, let the domain decide, append in one transaction."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from pmo_events.envelope import loads
from pmo_events.runtime import AggregateType, CommandRuntime, Metadata, UnitOfWork, fold
from pmo_intake.adapters.db.tables import known_portfolios
from pmo_intake.domain import proposal as rules
from pmo_intake.domain.completeness import PortfolioFacts
from pmo_intake.domain.errors import NotAllowed, ProposalNotFound
from pmo_intake.domain.proposal import DraftProposal, Proposal

PROPOSAL = AggregateType("proposal", rules.initial, rules.evolve, Proposal)
EDITORS = ("pmo_analyst", "admin")


async def draft_proposal(runtime: CommandRuntime, command: DraftProposal, meta: Metadata) -> tuple[Proposal, int]:
    async with runtime.unit_of_work(meta) as uow:
        new_events = rules.draft(command)
        await uow.append(PROPOSAL, command.proposal_id, 0, new_events)
    return fold(PROPOSAL, rules.initial(command.proposal_id), new_events), len(new_events)


async def submit_proposal(
    runtime: CommandRuntime,
    proposal_id: str,
    *,
    roles: frozenset[str],
    meta: Metadata,
    expected_version: int | None = None,
) -> tuple[Proposal, int]:
    async with runtime.unit_of_work(meta) as uow:
        loaded = await _load_existing(uow, proposal_id, expected_version)
        if loaded.state.requester != meta.actor and not roles & set(EDITORS):
            raise NotAllowed("only the requester, a pmo_analyst or an admin may submit this proposal")
        portfolio = await portfolio_facts(uow.session, loaded.state.portfolio_id)
        new_events = rules.submit(loaded.state, portfolio=portfolio, now=meta.occurred_at)
        await uow.append(PROPOSAL, proposal_id, loaded.version, new_events)
    return fold(PROPOSAL, loaded.state, new_events), loaded.version + len(new_events)


async def record_portfolio_decision(
    uow: UnitOfWork,
    proposal_id: str,
    *,
    outcome: str,
    rationale: str,
    decided_by: str,
    decided_at: datetime,
    decision_event_id: str,
) -> None:
    """Called by the subscription when the board decided; a no-op for unknown or already-decided ones."""
    loaded = await uow.load(PROPOSAL, proposal_id)
    if loaded.version == 0:
        return
    new_events = rules.record_decision(
        loaded.state,
        outcome=outcome,
        rationale=rationale,
        decided_by=decided_by,
        decided_at=decided_at,
        decision_event_id=decision_event_id,
    )
    await uow.append(PROPOSAL, proposal_id, loaded.version, new_events)


async def _load_existing(uow: UnitOfWork, proposal_id: str, expected_version: int | None):  # type: ignore[no-untyped-def]
    from pmo_events.runtime import ConcurrencyConflict

    loaded = await uow.load(PROPOSAL, proposal_id)
    if loaded.version == 0:
        raise ProposalNotFound(proposal_id)
    if expected_version is not None and expected_version != loaded.version:
        raise ConcurrencyConflict(proposal_id, expected_version)
    return loaded


async def portfolio_facts(session: AsyncSession, portfolio_id: str) -> PortfolioFacts | None:
    row = (
        await session.execute(select(known_portfolios).where(known_portfolios.c.portfolio_id == portfolio_id))
    ).first()
    if row is None:
        return None
    return PortfolioFacts(portfolio_id, frozenset(loads(row.fiscal_periods)))


def now() -> datetime:
    return datetime.now(UTC)
