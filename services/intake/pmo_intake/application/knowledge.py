"""What intake knows beyond one proposal, read from its own views for submission checks."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from pmo_events.envelope import loads
from pmo_intake.adapters.db.tables import known_objectives, known_portfolios, known_programmes, proposals
from pmo_intake.domain.completeness import ObjectiveFacts, PortfolioFacts, ProgrammeFacts, SubmissionContext
from pmo_intake.domain.proposal import OPEN, Proposal


async def submission_context(session: AsyncSession, proposal: Proposal) -> SubmissionContext:
    objective_ids = [c.objective_id for c in proposal.objective_contributions]
    return SubmissionContext(
        portfolio=await portfolio_facts(session, proposal.portfolio_id),
        objectives=await objective_facts(session, objective_ids),
        known_proposals=await _known_proposals(session, list(proposal.dependencies)),
        open_siblings=await _open_siblings(session, proposal),
        programme=await programme_facts(session, proposal.programme_id) if proposal.programme_id else None,
    )


async def programme_facts(session: AsyncSession, programme_id: str) -> ProgrammeFacts | None:
    query = select(known_programmes).where(known_programmes.c.programme_id == programme_id)
    row = (await session.execute(query)).first()
    if row is None:
        return None
    return ProgrammeFacts(row.programme_id, row.portfolio_id, row.name, row.closed)


async def portfolio_facts(session: AsyncSession, portfolio_id: str) -> PortfolioFacts | None:
    query = select(known_portfolios).where(known_portfolios.c.portfolio_id == portfolio_id)
    row = (await session.execute(query)).first()
    if row is None:
        return None
    return PortfolioFacts(portfolio_id, frozenset(loads(row.fiscal_periods)), row.currency)


async def objective_facts(session: AsyncSession, objective_ids: list[str]) -> dict[str, ObjectiveFacts]:
    if not objective_ids:
        return {}
    query = select(known_objectives).where(known_objectives.c.objective_id.in_(objective_ids))
    rows = (await session.execute(query)).all()
    return {
        r.objective_id: ObjectiveFacts(
            r.objective_id, r.title, r.retired, tuple(loads(r.portfolio_ids)) if r.portfolio_ids else ()
        )
        for r in rows
    }


async def _known_proposals(session: AsyncSession, ids: list[str]) -> frozenset[str]:
    if not ids:
        return frozenset()
    rows = await session.execute(select(proposals.c.proposal_id).where(proposals.c.proposal_id.in_(ids)))
    return frozenset(r.proposal_id for r in rows)


async def _open_siblings(session: AsyncSession, proposal: Proposal) -> tuple[tuple[str, str], ...]:
    query = select(proposals.c.proposal_id, proposals.c.title).where(
        proposals.c.requester == proposal.requester,
        proposals.c.portfolio_id == proposal.portfolio_id,
        proposals.c.status.in_(OPEN),
        proposals.c.proposal_id != proposal.proposal_id,
    )
    return tuple((r.proposal_id, r.title) for r in await session.execute(query))
