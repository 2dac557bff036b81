"""Events published by the intake service on topic `pmo.intake.events`."""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar, Literal

from pmo_events.contracts.base import Event, UtcInstant, contract
from pmo_events.contracts.common import BusinessCase, ObjectiveContribution, OfferedLesson, RoleEstimate, Timeline

SERVICE = "intake"
TOPIC = "pmo.intake.events"

RiskLevel = Literal["low", "medium", "high"]

#: Who sees every draft proposal, not only their own: the PMO (intake's reads and reporting's alike).
DRAFT_READERS = frozenset({"pmo_analyst", "admin"})
#: The events that take a proposal out of draft (its review and decisions need a submission first).
OUT_OF_DRAFT = frozenset({"ProposalSubmitted", "ProposalWithdrawn"})


def sees_proposal(*, draft: bool, requester: str | None, subject: str, roles: Iterable[str]) -> bool:
    """Object-level access to a proposal, one rule for every service: a draft is its requester's own (and the
    PMO's: pmo_analysts, admins); once out of draft, anyone who may read sees it."""
    return not draft or requester == subject or bool(DRAFT_READERS & frozenset(roles))


class _IntakeEvent(Event):
    service = SERVICE
    related_fields: ClassVar[tuple[str, ...]] = ("portfolio_id",)

    proposal_id: str
    portfolio_id: str


class ProposalContent(_IntakeEvent):
    title: str
    summary: str | None = None
    sponsor: str | None = None
    objective_contributions: tuple[ObjectiveContribution, ...] = ()
    business_case: BusinessCase = BusinessCase()
    timeline: Timeline = Timeline()
    resource_estimate: tuple[RoleEstimate, ...] = ()
    risk_level: RiskLevel | None = None
    dependencies: tuple[str, ...] = ()
    #: The programme (of the same portfolio) the proposal asks to join; an approval brings it in unless
    #: the board decides otherwise.
    programme_id: str | None = None


@contract
class ProposalDrafted(ProposalContent):
    event_name = "ProposalDrafted"
    requester: str


@contract
class ProposalSubmitted(ProposalContent):
    """The complete proposal as the board will see it; `submission` counts resubmissions."""

    event_name = "ProposalSubmitted"
    requester: str
    submission: int
    submitted_at: UtcInstant
    #: Open proposals of the same requester, portfolio and title: a warning, not a refusal.
    possible_duplicates: tuple[str, ...] = ()


@contract
class ProposalEdited(ProposalContent):
    """The requester (or a PMO analyst) changed the proposal; it carries the whole content after the edit."""

    event_name = "ProposalEdited"
    edited_by: str
    changed_fields: tuple[str, ...]


@contract
class ProposalUnderReview(_IntakeEvent):
    """The board started scoring the proposal (mirrors the portfolio's first `CandidateScored`)."""

    event_name = "ProposalUnderReview"
    submission: int
    assessor: str
    scored_at: UtcInstant
    scoring_event_id: str


class _ProposalDecision(_IntakeEvent):
    decided_by: str
    decided_at: UtcInstant
    rationale: str
    decision_event_id: str
    #: When a deferred proposal should be looked at again, as the board said.
    review_on: str | None = None


#: The common shape of the four decision events, for code that handles any of them.
ProposalDecisionEvent = _ProposalDecision


@contract
class ProposalApproved(_ProposalDecision):
    event_name = "ProposalApproved"


@contract
class ProposalRejected(_ProposalDecision):
    event_name = "ProposalRejected"


@contract
class ProposalDeferred(_ProposalDecision):
    event_name = "ProposalDeferred"


@contract
class ProposalChangesRequested(_ProposalDecision):
    event_name = "ProposalChangesRequested"


@contract
class ProposalWithdrawn(_IntakeEvent):
    event_name = "ProposalWithdrawn"
    withdrawn_by: str
    reason: str
    withdrawn_at: UtcInstant | None = None


class _LessonFeedback(_IntakeEvent):
    """Offers and acknowledgements of lessons for one proposal, on its own stream `lessons-<proposal_id>`
    (`feedback_id`), so the proposal's own version (its ETag) does not move."""

    related_fields: ClassVar[tuple[str, ...]] = ("portfolio_id", "proposal_id")
    feedback_id: str


@contract
class LessonsOffered(_LessonFeedback):
    """The lessons most relevant to the proposal when it was drafted or submitted, offered to its team."""

    event_name = "LessonsOffered"
    occasion: Literal["drafted", "submitted"]
    lessons: tuple[OfferedLesson, ...]
    offered_at: UtcInstant


@contract
class LessonAcknowledged(_LessonFeedback):
    """The proposal's team read a lesson and said whether it applies to them, and why."""

    event_name = "LessonAcknowledged"
    related_fields = ("portfolio_id", "proposal_id", "lesson_id")
    lesson_id: str
    applies: bool
    note: str
    acknowledged_by: str
    acknowledged_at: UtcInstant
