"""The proposals view: each proposal's current state, updated in the command's own transaction."""

from __future__ import annotations

from typing import Any

from pmo_events.envelope import RecordedEvent
from pmo_events.runtime.views import StreamView
from pmo_intake.adapters.db.tables import proposals
from pmo_intake.domain.proposal import Proposal, evolve, initial


def search_text(state: Proposal) -> str:
    """What `q` searches: title and summary, case-folded."""
    return f"{state.title}\n{state.summary or ''}".casefold()


def _columns(state: Proposal, event: RecordedEvent) -> dict[str, Any]:
    return {
        "portfolio_id": state.portfolio_id,
        "requester": state.requester,
        "status": state.status,
        "title": state.title,
        "version": event.sequence,
        "updated_at": event.time,
        "search_text": search_text(state),
    }


def _first(event: RecordedEvent) -> dict[str, Any]:
    # The draft event's store position: a stable, unique order for cursor pagination.
    return {"created_at": event.time, "listed_at": event.position}


project_proposal = StreamView(
    table=proposals,
    key=proposals.c.proposal_id,
    state=proposals.c.state,
    model=Proposal,
    initial=initial,
    evolve=evolve,
    columns=_columns,
    on_insert=_first,
    # The proposal's lesson offers and acknowledgements are on streams of their own.
    stream_type="proposal",
)
