"""The proposals view: each proposal's current state, updated in the command's own transaction."""

from __future__ import annotations

from typing import Any, cast

from pmo_events.contracts.base import Event
from pmo_events.contracts.intake import ProposalDrafted, ProposalEdited, ProposalSubmitted
from pmo_events.envelope import RecordedEvent
from pmo_events.runtime.views import StreamView
from pmo_intake.adapters.db.tables import proposals
from pmo_intake.domain.proposal import _INITIAL, Proposal, evolve, evolve_owned, initial


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


def rebuild_decode(event: RecordedEvent, following: RecordedEvent | None) -> Event:
    """A rebuild's decode: a draft or an edit whose content the stream's next event replaces is not decoded
    (a draft's requester is read from the JSON) but folded by `rebuild_evolve` without its content, so only the
    content that stays is validated and copied; the state after that next event is the full decode's
    (`tests/test_rebuild_decode.py`). Any other event in full."""
    if following is None or following.type not in _WHOLE_CONTENT:
        return event.decode()
    if event.type == _DRAFTED:
        return cast(Event, _ContentReplaced(event.data["requester"]))
    if event.type == _EDITED:
        return cast(Event, _EDIT_REPLACED)
    return event.decode()


class _ContentReplaced:
    """`rebuild_decode`'s draft (with its requester) or edit (None) whose content the stream's next event
    replaces; not an event: only `rebuild_evolve` is given it."""

    __slots__ = ("requester",)

    def __init__(self, requester: str | None) -> None:
        self.requester = requester


_EDIT_REPLACED = _ContentReplaced(None)


def rebuild_evolve(state: Proposal, event: Event) -> Proposal:
    """`evolve_owned`, and `rebuild_decode`'s draft or edit without content: the stream's next event sets every
    one of `CONTENT_FIELDS` (values and fields set) in any case, so an edit changes nothing and a draft sets what
    else `evolve_owned` sets for it: `initial`'s values, the requester, the status."""
    if type(event) is not _ContentReplaced:
        return evolve_owned(state, event)
    requester = cast(_ContentReplaced, event).requester
    if requester is None:
        return state
    values = state.__dict__
    proposal_id = values["proposal_id"]
    values.update(_INITIAL.__dict__)
    values.update(proposal_id=proposal_id, requester=requester, status="draft")
    fields_set = state.__pydantic_fields_set__
    fields_set.clear()
    fields_set.update(_DRAFT_SETS)
    return state


#: The fields a draft sets besides its content (`evolve_owned`).
_DRAFT_SETS = ("proposal_id", "requester", "status")


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
    rebuild_evolve=rebuild_evolve,
)
