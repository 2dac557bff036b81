"""The proposals view: each proposal's current state, updated in the command's own transaction."""

from __future__ import annotations

import functools
from typing import Any

from pmo_events.contracts.base import Event
from pmo_events.contracts.intake import ProposalDrafted, ProposalEdited, ProposalSubmitted
from pmo_events.envelope import RecordedEvent
from pmo_events.runtime.views import StreamView
from pmo_intake.adapters.db.tables import proposals
from pmo_intake.domain.proposal import CONTENT_FIELDS, Proposal, evolve, evolve_owned, initial


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


#: The events that carry a proposal's whole content: each replaces every one of `CONTENT_FIELDS`.
_WHOLE_CONTENT = frozenset(t.type_name() for t in (ProposalDrafted, ProposalEdited, ProposalSubmitted))
_DRAFTED, _EDITED = ProposalDrafted.type_name(), ProposalEdited.type_name()
#: A proposal's content before any event: what a draft or an edit is folded with when the next event replaces it.
_NO_CONTENT = {name: Proposal.model_fields[name].get_default(call_default_factory=True) for name in CONTENT_FIELDS}


def rebuild_decode(event: RecordedEvent, following: RecordedEvent | None) -> Event:
    """A rebuild's decode: a draft or an edit whose content the stream's next event replaces is folded without
    it (a draft keeps its requester, read from the JSON), so only the content that stays is validated; the
    state after that next event is the full decode's (`tests/test_rebuild_decode.py`). Any other event in full."""
    if following is None or following.type not in _WHOLE_CONTENT:
        return event.decode()
    if event.type == _DRAFTED:
        return _draft_without_content(event.data["requester"])
    if event.type == _EDITED:
        return _EDIT_WITHOUT_CONTENT
    return event.decode()


@functools.lru_cache(maxsize=1024)
def _draft_without_content(requester: str) -> ProposalDrafted:
    # Contracts are frozen: one per requester serves every draft of theirs (a construction costs a validation).
    return ProposalDrafted.model_construct(requester=requester, **_NO_CONTENT)


_EDIT_WITHOUT_CONTENT = ProposalEdited.model_construct(**_NO_CONTENT)


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
    version=proposals.c.version,
    rebuild_decode=rebuild_decode,
    rebuild_evolve=evolve_owned,
)
