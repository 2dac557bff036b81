"""The proposals view: each proposal's current state, updated in the command's own transaction."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from pmo_events.envelope import RecordedEvent, dumps, loads
from pmo_intake.adapters.db.tables import proposals
from pmo_intake.domain.proposal import Proposal, evolve, initial


def search_text(state: Proposal) -> str:
    """What `q` searches: title and summary, case-folded."""
    return f"{state.title}\n{state.summary or ''}".casefold()


async def project_proposal(session: AsyncSession, event: RecordedEvent) -> None:
    row = (await session.execute(select(proposals.c.state).where(proposals.c.proposal_id == event.stream_id))).first()
    state = Proposal.model_validate(loads(row.state)) if row else initial(event.stream_id)
    state = evolve(state, event.decode())
    values = {
        "portfolio_id": state.portfolio_id,
        "requester": state.requester,
        "status": state.status,
        "title": state.title,
        "version": event.sequence,
        "state": dumps(state.model_dump(mode="json")).decode(),
        "updated_at": event.time,
        "search_text": search_text(state),
    }
    if row is None:
        await session.execute(
            proposals.insert().values(
                proposal_id=event.stream_id, created_at=event.time, listed_at=event.position, **values
            )
        )
    else:
        await session.execute(proposals.update().where(proposals.c.proposal_id == event.stream_id).values(**values))
