"""Governance queries: the charter, motions with their votes, and the open motions whose deadline passed."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from pmo_events.envelope import loads
from pmo_events.runtime import Database
from pmo_portfolio import funding
from pmo_portfolio.governance.domain.motions import Motion
from pmo_portfolio.governance.domain.voting import verdict
from pmo_portfolio.governance.views import motions
from pmo_portfolio.shared.errors import NotFound
from pmo_portfolio.shared.http import amounts_of
from pmo_servicekit.contract.shared import OUTCOMES_OF_VERBS
from pmo_servicekit.contract.wire import money_text

Page = tuple[list[dict[str, Any]], str | None]


def motion_view(motion: Motion, version: int, currency: str | None) -> dict[str, Any]:
    """The motion with its votes, conflicts and the tally as it stands (who may still vote); its money at the
    portfolio's currency scale."""
    _, tally = verdict(motion.ballot())
    body = motion.model_dump(mode="json", exclude={"motion_id"})
    outcome = OUTCOMES_OF_VERBS.get(motion.outcome, motion.outcome)
    tallied = tally.model_dump(mode="json")
    money = {
        "approved_budget": amounts_of(motion.approved_budget, currency),
        "amount": None if motion.amount is None else money_text(motion.amount, currency),
    }
    return {"id": motion.motion_id, **body, **money, "outcome": outcome, "tally": tallied, "version": version}


async def currency_in(session: AsyncSession, portfolio_id: str) -> str | None:
    """The portfolio's currency (None when the portfolio is unknown: amounts then keep two places)."""
    found = (await funding.portfolio_states(session, {portfolio_id})).get(portfolio_id)
    return found.currency if found else None


async def motion_in(session: AsyncSession, motion_id: str) -> tuple[Motion, int]:
    query = select(motions.c.state, motions.c.version).where(motions.c.motion_id == motion_id)
    row = (await session.execute(query)).first()
    if row is None:
        raise NotFound(f"motion {motion_id}")
    return Motion.model_validate(loads(row.state)), row.version


async def get_motion(db: Database, motion_id: str) -> dict[str, Any]:
    async with db.sessions() as session:
        motion, version = await motion_in(session, motion_id)
        return motion_view(motion, version, await currency_in(session, motion.portfolio_id))


async def list_motions(
    db: Database, portfolio_id: str, *, status: str | None, subject_id: str | None, limit: int, cursor: str | None
) -> Page:
    """Newest first (by proposal time, then id)."""
    query = select(motions.c.state, motions.c.version, motions.c.motion_id).where(
        motions.c.portfolio_id == portfolio_id
    )
    if status:
        query = query.where(motions.c.status == status)
    if subject_id:
        query = query.where(motions.c.subject_id == subject_id)
    if cursor:
        query = query.where(motions.c.motion_id > cursor)
    query = query.order_by(motions.c.motion_id).limit(limit + 1)
    async with db.sessions() as session:
        rows = (await session.execute(query)).all()
        currency = await currency_in(session, portfolio_id)
    items = [motion_view(Motion.model_validate(loads(r.state)), r.version, currency) for r in rows[:limit]]
    return items, rows[limit - 1].motion_id if len(rows) > limit else None


async def motions_due(session: AsyncSession, now: datetime) -> list[str]:
    """Open motions whose deadline has passed, oldest deadline first."""
    query = (
        select(motions.c.motion_id)
        .where(motions.c.status == "open", motions.c.deadline < now)
        .order_by(motions.c.deadline)
        .limit(500)
    )
    return [r.motion_id for r in await session.execute(query)]
