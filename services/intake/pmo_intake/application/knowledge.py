"""What intake knows beyond one proposal, read from its own views for submission checks."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from pmo_events.envelope import loads
from pmo_events.runtime import pgdirect
from pmo_intake.adapters.db.tables import known_objectives, known_portfolios, known_programmes, proposals
from pmo_intake.domain.completeness import ObjectiveFacts, PortfolioFacts, ProgrammeFacts, SubmissionContext
from pmo_intake.domain.proposal import OPEN, Proposal

#: Everything a submission checks, in ONE read (asyncpg): $1 portfolio, $2 objectives, $3 dependencies,
#: $4 requester, $5 open statuses, $6 the proposal itself, $7 its programme (or NULL).
_CONTEXT = (
    f"SELECT (SELECT ROW(p.fiscal_periods, p.currency) FROM {known_portfolios.name} AS p WHERE p.portfolio_id = $1), "
    f"ARRAY(SELECT ROW(o.objective_id, o.title, o.retired, o.portfolio_ids) FROM {known_objectives.name} AS o "
    "WHERE o.objective_id = ANY($2::VARCHAR[])), "
    f"ARRAY(SELECT k.proposal_id FROM {proposals.name} AS k WHERE k.proposal_id = ANY($3::VARCHAR[])), "
    f"ARRAY(SELECT ROW(s.proposal_id, s.title) FROM {proposals.name} AS s WHERE s.requester = $4 "
    "AND s.portfolio_id = $1 AND s.status = ANY($5::VARCHAR[]) AND s.proposal_id <> $6), "
    f"(SELECT ROW(g.portfolio_id, g.name, g.closed) FROM {known_programmes.name} AS g WHERE g.programme_id = $7)"
)


async def submission_context(session: AsyncSession | pgdirect.Direct, proposal: Proposal) -> SubmissionContext:
    """What a submission of `proposal` is checked against (`session`: a unit of work's `reads` will do; on
    PostgreSQL one statement, with no transaction of its own)."""
    objective_ids = [c.objective_id for c in proposal.objective_contributions]
    if pgdirect.on_asyncpg(session):
        (portfolio, objectives, known, siblings, programme), *_ = await pgdirect.fetch(
            session,
            _CONTEXT,
            proposal.portfolio_id,
            objective_ids,
            list(proposal.dependencies),
            proposal.requester,
            list(OPEN),
            proposal.proposal_id,
            proposal.programme_id,
            begin=False,
        )
        return SubmissionContext(
            portfolio=PortfolioFacts(proposal.portfolio_id, frozenset(loads(portfolio[0])), portfolio[1])
            if portfolio is not None
            else None,
            objectives={o[0]: _objective(*o) for o in objectives},
            known_proposals=frozenset(known),
            open_siblings=tuple((s[0], s[1]) for s in siblings),
            programme=ProgrammeFacts(proposal.programme_id, *programme)
            if programme is not None and proposal.programme_id
            else None,
        )
    assert isinstance(session, AsyncSession)
    return await context_in_session(session, proposal)


async def context_in_session(session: AsyncSession, proposal: Proposal) -> SubmissionContext:
    """`submission_context` read through the session's ORM, a statement per kind of fact (SQLite)."""
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
    return {r.objective_id: _objective(r.objective_id, r.title, r.retired, r.portfolio_ids) for r in rows}


def _objective(objective_id: str, title: str, retired: bool, portfolio_ids: str | None) -> ObjectiveFacts:
    return ObjectiveFacts(objective_id, title, retired, tuple(loads(portfolio_ids)) if portfolio_ids else ())


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
