"""The proposal's decisions: draft, edit, submit, withdraw, and the board's moves mirrored from portfolio."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pmo_events.contracts.base import Event
from pmo_events.contracts.common import BusinessCase, ObjectiveContribution, RoleEstimate, Timeline
from pmo_events.contracts.intake import (
    DRAFT_READERS,
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
    sees_proposal,
)
from pmo_intake.domain.completeness import SubmissionContext, completeness_findings, possible_duplicates
from pmo_intake.domain.errors import (
    Finding,
    IncompleteProposal,
    InvalidProposal,
    NotAllowed,
    ProposalNotFound,
    RuleViolation,
)
from pmo_intake.domain.limits import bounds_findings
from pmo_intake.domain.proposal import AWAITING_DECISION, CONTENT_FIELDS, EDITABLE, FINAL, Proposal

#: Besides the proposal's own requester, these roles may edit, submit and withdraw it (and see it as a draft).
STEWARD_ROLES = DRAFT_READERS


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
    programme_id: str | None = None


@dataclass(frozen=True)
class Actor:
    """Who asks: the token's subject and roles."""

    subject: str
    roles: frozenset[str] = frozenset()


def may_see(proposal: Proposal, actor: Actor) -> bool:
    """A draft is its requester's own (and the PMO's: analysts, admins); once submitted, anyone who may read sees it."""
    return sees_proposal(
        draft=proposal.status == "draft", requester=proposal.requester, subject=actor.subject, roles=actor.roles
    )


def check_may_see(proposal: Proposal, actor: Actor) -> None:
    """Someone else's draft is not found (404), so its existence does not leak."""
    if not may_see(proposal, actor):
        raise ProposalNotFound(proposal.proposal_id)


def check_may_change(proposal: Proposal, actor: Actor) -> None:
    """Only the requester, a PMO analyst or an admin may edit, submit or withdraw a proposal."""
    check_may_see(proposal, actor)
    if proposal.requester != actor.subject and not actor.roles & STEWARD_ROLES:
        raise NotAllowed("only the requester, a pmo_analyst or an admin may change this proposal")


def draft(command: DraftProposal) -> list[Event]:
    content = dict(command.__dict__)
    findings = bounds_findings(content)
    if findings:
        raise InvalidProposal(findings)
    return [ProposalDrafted(**content)]


def edit(proposal: Proposal, changes: dict[str, Any], *, actor: Actor) -> list[Event]:
    """Change some content fields; an edit that changes nothing records nothing."""
    check_may_change(proposal, actor)
    unknown = set(changes) - set(CONTENT_FIELDS)
    if unknown:
        raise InvalidProposal([Finding(name, "not a field a requester edits") for name in sorted(unknown)])
    if proposal.status not in EDITABLE:
        raise RuleViolation(f"a {proposal.status} proposal cannot be edited")
    changed = tuple(name for name in CONTENT_FIELDS if name in changes and changes[name] != getattr(proposal, name))
    if "portfolio_id" in changed and proposal.status != "draft":
        raise RuleViolation("a proposal moves to another portfolio only while it is a draft")
    findings = bounds_findings(changes)
    if findings:
        raise InvalidProposal(findings)
    if not changed:
        return []
    content = {**proposal.content(), **{name: changes[name] for name in changed}}
    return [
        ProposalEdited(proposal_id=proposal.proposal_id, **content, edited_by=actor.subject, changed_fields=changed)
    ]


def submit(proposal: Proposal, context: SubmissionContext, *, actor: Actor, now: datetime) -> list[Event]:
    """Submit for the board; every completeness problem is reported at once."""
    check_may_change(proposal, actor)
    if proposal.status not in EDITABLE:
        raise RuleViolation(f"a {proposal.status} proposal cannot be submitted")
    findings = completeness_findings(proposal, context)
    if findings:
        raise IncompleteProposal(findings)
    return [
        ProposalSubmitted(
            proposal_id=proposal.proposal_id,
            **proposal.content(),
            requester=proposal.requester,
            submission=proposal.submission + 1,
            submitted_at=now,
            possible_duplicates=possible_duplicates(proposal, context.open_siblings),
        )
    ]


def withdraw(proposal: Proposal, *, reason: str, actor: Actor, now: datetime) -> list[Event]:
    """The requester takes the proposal back; decided (approved, rejected) ones stay as they are."""
    check_may_change(proposal, actor)
    if proposal.status in FINAL:
        raise RuleViolation(f"a {proposal.status} proposal cannot be withdrawn")
    if not reason.strip():
        raise InvalidProposal([Finding("reason", "say why the proposal is withdrawn")])
    return [
        ProposalWithdrawn(
            proposal_id=proposal.proposal_id,
            portfolio_id=proposal.portfolio_id,
            withdrawn_by=actor.subject,
            reason=reason,
            withdrawn_at=now,
        )
    ]


def start_review(
    proposal: Proposal, *, assessor: str, scored_at: datetime, scoring_event_id: str, submission: int | None = None
) -> list[Event]:
    """The board's first score puts a submitted proposal under review; later (or stale) scores change nothing."""
    if proposal.status != "submitted" or submission not in (None, proposal.submission):
        return []
    if scoring_event_id in proposal.mirrored_event_ids:
        return []
    return [
        ProposalUnderReview(
            proposal_id=proposal.proposal_id,
            portfolio_id=proposal.portfolio_id,
            submission=proposal.submission,
            assessor=assessor,
            scored_at=scored_at,
            scoring_event_id=scoring_event_id,
        )
    ]


_DECISION_EVENTS: dict[str, type[ProposalDecisionEvent]] = {
    "approve": ProposalApproved,
    "reject": ProposalRejected,
    "defer": ProposalDeferred,
    "request_changes": ProposalChangesRequested,
}


@dataclass(frozen=True)
class BoardDecision:
    """The portfolio board's decision as the portfolio service published it."""

    outcome: str
    rationale: str
    decided_by: str
    decided_at: datetime
    decision_event_id: str
    review_on: str | None = None


def record_decision(proposal: Proposal, decision: BoardDecision) -> list[Event]:
    """Mirror the board's decision; one that does not await a decision (withdrawn, decided) stays as it is."""
    event_type = _DECISION_EVENTS.get(decision.outcome)
    if event_type is None:
        raise RuleViolation(f"unknown decision outcome {decision.outcome!r}")
    if proposal.status not in AWAITING_DECISION or decision.decision_event_id in proposal.mirrored_event_ids:
        return []
    return [
        event_type(
            proposal_id=proposal.proposal_id,
            portfolio_id=proposal.portfolio_id,
            decided_by=decision.decided_by,
            decided_at=decision.decided_at,
            rationale=decision.rationale,
            decision_event_id=decision.decision_event_id,
            review_on=decision.review_on,
        )
    ]
