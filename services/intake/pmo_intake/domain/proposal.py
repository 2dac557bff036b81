"""The Proposal aggregate's state: a change initiative's business case, folded from its events."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, cast

from pydantic import BaseModel

from pmo_events.contracts.base import Event
from pmo_events.contracts.common import BusinessCase, ObjectiveContribution, RoleEstimate, Timeline
from pmo_events.contracts.intake import (
    ProposalApproved,
    ProposalChangesRequested,
    ProposalDecisionEvent,
    ProposalDeferred,
    ProposalDrafted,
    ProposalEdited,
    ProposalRejected,
    ProposalSubmitted,
    ProposalUnderReview,
    ProposalWithdrawn,
    RiskLevel,
)

Status = Literal[
    "new", "draft", "submitted", "under_review", "approved", "rejected", "deferred", "changes_requested", "withdrawn"
]
STATUSES: tuple[Status, ...] = (
    "draft", "submitted", "under_review", "approved", "rejected", "deferred", "changes_requested", "withdrawn"
)  # fmt: skip
EDITABLE = ("draft", "changes_requested", "deferred")
AWAITING_DECISION = ("submitted", "under_review")
FINAL = ("approved", "rejected", "withdrawn")
#: Open proposals count when looking for duplicates.
OPEN = ("draft", "submitted", "under_review", "changes_requested", "deferred")
#: What a requester writes (and may edit); everything else is lifecycle.
CONTENT_FIELDS = (
    "title",
    "summary",
    "portfolio_id",
    "sponsor",
    "objective_contributions",
    "business_case",
    "timeline",
    "resource_estimate",
    "risk_level",
    "dependencies",
    "programme_id",
)


class Decision(BaseModel):
    """The board's latest decision, mirrored from the portfolio service."""

    outcome: str
    rationale: str
    decided_by: str
    decided_at: datetime
    review_on: str | None = None


class Withdrawal(BaseModel):
    reason: str
    withdrawn_by: str
    withdrawn_at: datetime | None = None


class Proposal(BaseModel):
    """Current state, folded from the proposal's events."""

    proposal_id: str
    status: Status = "new"
    title: str = ""
    summary: str | None = None
    portfolio_id: str = ""
    sponsor: str | None = None
    requester: str = ""
    objective_contributions: tuple[ObjectiveContribution, ...] = ()
    business_case: BusinessCase = BusinessCase()
    timeline: Timeline = Timeline()
    resource_estimate: tuple[RoleEstimate, ...] = ()
    risk_level: RiskLevel | None = None
    dependencies: tuple[str, ...] = ()
    programme_id: str | None = None
    submission: int = 0
    submitted_at: datetime | None = None
    possible_duplicates: tuple[str, ...] = ()
    under_review_since: datetime | None = None
    decision: Decision | None = None
    withdrawal: Withdrawal | None = None
    #: Portfolio events already mirrored, so a subscription re-read from offset 0 changes nothing.
    mirrored_event_ids: tuple[str, ...] = ()

    def content(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in CONTENT_FIELDS}


_DECISION_STATUS: dict[type[Event], Status] = {
    ProposalApproved: "approved",
    ProposalRejected: "rejected",
    ProposalDeferred: "deferred",
    ProposalChangesRequested: "changes_requested",
}


def evolve(state: Proposal, event: Event) -> Proposal:
    """Apply one event; pure, and total over every intake event."""
    if isinstance(event, ProposalDrafted):
        # The event's values are already validated contract objects: copied, not dumped and parsed again.
        content = {name: getattr(event, name) for name in CONTENT_FIELDS}
        content.update(requester=event.requester, status="draft")
        return initial(state.proposal_id).model_copy(update=content)
    if isinstance(event, ProposalEdited):
        return state.model_copy(update={name: getattr(event, name) for name in CONTENT_FIELDS})
    if isinstance(event, ProposalSubmitted):
        update = {name: getattr(event, name) for name in CONTENT_FIELDS}
        update.update(
            status="submitted",
            submission=event.submission,
            submitted_at=event.submitted_at,
            possible_duplicates=event.possible_duplicates,
            under_review_since=None,
        )
        return state.model_copy(update=update)
    if isinstance(event, ProposalUnderReview):
        return state.model_copy(
            update={
                "status": "under_review",
                "under_review_since": event.scored_at,
                "mirrored_event_ids": (*state.mirrored_event_ids, event.scoring_event_id),
            }
        )
    if isinstance(event, ProposalWithdrawn):
        withdrawal = Withdrawal(reason=event.reason, withdrawn_by=event.withdrawn_by, withdrawn_at=event.withdrawn_at)
        return state.model_copy(update={"status": "withdrawn", "withdrawal": withdrawal})
    if isinstance(event, ProposalDecisionEvent):
        return state.model_copy(update=_decided(state, event))
    return state


def _decided(state: Proposal, event: ProposalDecisionEvent) -> dict[str, Any]:
    """What the board's decision changes in the proposal (`evolve` and `evolve_owned`)."""
    status = _DECISION_STATUS[type(event)]
    decision = Decision(
        outcome=status,
        rationale=event.rationale,
        decided_by=event.decided_by,
        decided_at=event.decided_at,
        review_on=event.review_on,
    )
    return {
        "status": status,
        "decision": decision,
        "mirrored_event_ids": (*state.mirrored_event_ids, event.decision_event_id),
    }


def evolve_owned(state: Proposal, event: Event) -> Proposal:
    """`evolve` for a fold that holds the only reference to `state` (a rebuild's): a draft, an edit, a
    submission, the start of a review or a decision sets the state's fields in place and returns `state` instead
    of a copy (a draft first resets it to `initial`'s values); any other event is `evolve`'s. The states it
    gives equal `evolve`'s, fields set included, event for event (`tests/test_proposal_fold.py`)."""
    kind = type(event)  # exact types: no ABC `isinstance` chain per event
    if kind is ProposalSubmitted:
        submitted = cast(ProposalSubmitted, event)
        update = {name: getattr(event, name) for name in CONTENT_FIELDS}
        update.update(
            status="submitted",
            submission=submitted.submission,
            submitted_at=submitted.submitted_at,
            possible_duplicates=submitted.possible_duplicates,
            under_review_since=None,
        )
    elif kind is ProposalEdited:
        update = {name: getattr(event, name) for name in CONTENT_FIELDS}
    elif kind is ProposalDrafted:
        update = {name: getattr(event, name) for name in CONTENT_FIELDS}
        update.update(requester=cast(ProposalDrafted, event).requester, status="draft")
        # `initial(state.proposal_id)`'s values: every default is immutable (tuples, frozen contracts, None).
        fresh = _INITIAL.__dict__ | {"proposal_id": state.proposal_id}
        state.__dict__.clear()
        state.__dict__.update(fresh)
        state.__pydantic_fields_set__.clear()
        state.__pydantic_fields_set__.add("proposal_id")
    elif kind is ProposalUnderReview:
        review = cast(ProposalUnderReview, event)
        update = {
            "status": "under_review",
            "under_review_since": review.scored_at,
            "mirrored_event_ids": (*state.mirrored_event_ids, review.scoring_event_id),
        }
    elif kind in _DECISION_STATUS:
        update = _decided(state, cast(ProposalDecisionEvent, event))
    else:
        return evolve(state, event)
    state.__dict__.update(update)
    state.__pydantic_fields_set__.update(update)
    return state


def initial(proposal_id: str) -> Proposal:
    # A copy of the one validated empty proposal (every default is immutable): the same state, fields set
    # included, as `_INITIAL.model_copy(update={"proposal_id": proposal_id})` gives (`test_initial`), made as
    # pydantic's own copy makes it but without its generic steps (a rebuild makes one per proposal).
    state = _new(Proposal)
    _set(state, "__dict__", _INITIAL.__dict__ | {"proposal_id": proposal_id})
    _set(state, "__pydantic_fields_set__", {"proposal_id"})
    _set(state, "__pydantic_extra__", None)
    _set(state, "__pydantic_private__", None)
    return state


_new, _set = object.__new__, object.__setattr__


#: `initial`'s values, which a rebuild's draft resets a state to (`evolve_owned`).
_INITIAL = Proposal(proposal_id="")
