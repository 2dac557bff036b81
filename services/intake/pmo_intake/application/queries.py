"""Intake's queries, answered from its own views."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from pmo_events.envelope import loads
from pmo_events.runtime import Database
from pmo_intake.adapters.db.tables import proposals
from pmo_intake.domain.errors import ProposalNotFound


async def get_proposal(db: Database, proposal_id: str) -> tuple[dict[str, Any], int]:
    async with db.sessions() as session:
        row = (
            await session.execute(
                select(proposals.c.state, proposals.c.version).where(proposals.c.proposal_id == proposal_id)
            )
        ).first()
    if row is None:
        raise ProposalNotFound(proposal_id)
    return loads(row.state), row.version
