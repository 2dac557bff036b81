"""The Proposal aggregate: a change initiative's business case, from draft to the board's decision."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from pydantic import BaseModel

from pmo_events.contracts.base import Event
from pmo_events.contracts.common import BusinessCase, ObjectiveContribution, RoleEstimate, Timeline
from pmo_events.contracts.intake import (
    ProposalApproved,
    ProposalChangesRequested,
    ProposalDeferred,
    ProposalDrafted,
    ProposalRejected,
    ProposalSubmitted,
    ProposalWithdrawn,
    RiskLevel,
)
from pmo_intake.domain.completeness import PortfolioFacts, completeness_findings
from pmo_intake.domain.errors import IncompleteProposal, RuleViolation

Status = Literal[
    "new", "draft", "submitted", "under_review", "approved", "rejected", "deferred", "changes_requested", "withdrawn"
]
EDITABLE = ("draft", "changes_requested", "deferred")
DECIDED = ("approved", "rejected")
AWAITING_DECISION = ("submitted", "under_review")


class Decision(BaseModel):
    outcome: str
    rationale: str
    decided_by: str
    decided_at: datetime


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
    submission: int = 0
    submitted_at: datetime | None = None
    decision: Decision | None = None


@dataclass(frozen=True)
class DraftProposal:
    proposal_id: str
    requester: str
    title: str
    portfolio_id: str
    summary: str | None = None
    sponsor: str | None = None
    objective_contributions: tuple[ObjectiveContribution, ...] = ()
    business_case: BusinessCase = BusinessCase()
    timeline: Timeline = Timeline()
    resource_estimate: tuple[RoleEstimate, ...] = ()
    risk_level: RiskLevel | None = None
    dependencies: tuple[str, ...] = ()


_DECISION_EVENTS = {
    "approve": ProposalApproved,
    "reject": ProposalRejected,
    "defer": ProposalDeferred,
    "request_changes": ProposalChangesRequested,
}
_DECISION_STATUS: dict[type[Event], Status] = {
    ProposalApproved: "approved",
    ProposalRejected: "rejected",
    ProposalDeferred: "deferred",
    ProposalChangesRequested: "changes_requested",
}


def draft(command: DraftProposal) -> list[Event]:
    fields = {k: v for k, v in command.__dict__.items()}
    return [ProposalDrafted(**fields)]


def submit(proposal: Proposal, *, portfolio: PortfolioFacts | None, now: datetime) -> list[Event]:
    """Submit for the board; every completeness problem is reported at once."""
    if proposal.status not in EDITABLE:
        raise RuleViolation(f"a {proposal.status} proposal cannot be submitted")
    findings = completeness_findings(proposal, portfolio)
    if findings:
        raise IncompleteProposal(findings)
    content = proposal.model_dump(
        include={
            "proposal_id",
            "portfolio_id",
            "title",
            "summary",
            "sponsor",
            "objective_contributions",
            "business_case",
            "timeline",
            "resource_estimate",
            "risk_level",
            "dependencies",
            "requester",
        }
    )
    return [ProposalSubmitted(**content, submission=proposal.submission + 1, submitted_at=now)]


def record_decision(
    proposal: Proposal, *, outcome: str, rationale: str, decided_by: str, decided_at: datetime, decision_event_id: str
) -> list[Event]:
    """Mirror the portfolio board's decision; a decision already mirrored is not recorded twice."""
    event_type = _DECISION_EVENTS.get(outcome)
    if event_type is None:
        raise RuleViolation(f"unknown decision outcome {outcome!r}")
    if proposal.status not in AWAITING_DECISION:
        return []
    return [
        event_type(
            proposal_id=proposal.proposal_id,
            portfolio_id=proposal.portfolio_id,
            decided_by=decided_by,
            decided_at=decided_at,
            rationale=rationale,
            decision_event_id=decision_event_id,
        )
    ]


def evolve(state: Proposal, event: Event) -> Proposal:
    if isinstance(event, ProposalDrafted):
        return Proposal(**event.model_dump(exclude={"proposal_id"}), proposal_id=state.proposal_id, status="draft")
    if isinstance(event, ProposalSubmitted):
        return state.model_copy(
            update={"status": "submitted", "submission": event.submission, "submitted_at": event.submitted_at}
        )
    status = _DECISION_STATUS.get(type(event))
    if status is not None:
        decision = Decision(
            outcome=status,
            rationale=event.rationale,
            decided_by=event.decided_by,  # type: ignore[attr-defined]
            decided_at=event.decided_at,  # type: ignore[attr-defined]
        )
        return state.model_copy(update={"status": status, "decision": decision})
    if isinstance(event, ProposalWithdrawn):
        return state.model_copy(update={"status": "withdrawn"})
    return state


def initial(proposal_id: str) -> Proposal:
    return Proposal(proposal_id=proposal_id)
