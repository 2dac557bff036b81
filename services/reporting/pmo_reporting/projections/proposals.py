"""Proposals as candidates: content, submissions, scoring and decisions, in any arrival order."""

from __future__ import annotations

from typing import Any

from pmo_events.contracts import intake
from pmo_events.contracts.portfolio import CandidateRegistered, CandidateScored, InvestmentDecided
from pmo_events.envelope import RecordedEvent
from pmo_reporting.projections.base import instant, on
from pmo_reporting.projections.documents import Body, Documents

PROPOSAL = "proposal"

_OUTCOMES = {
    intake.ProposalApproved: "approve",
    intake.ProposalRejected: "reject",
    intake.ProposalDeferred: "defer",
    intake.ProposalChangesRequested: "request_changes",
}

#: The status a decision outcome leaves a proposal in.
DECIDED_STATUS = {
    "approve": "approved",
    "reject": "rejected",
    "defer": "deferred",
    "request_changes": "changes_requested",
}


def _proposal(docs: Documents, proposal_id: str) -> Body:
    return docs.get(PROPOSAL, proposal_id) or {
        "id": proposal_id,
        "content_at": "",
        "drafted_at": None,
        "submissions": {},
        "decisions": {},
        "scores": {},
        "withdrawn_at": None,
    }


def _take_content(doc: Body, event: Any, at: str) -> None:
    """The newest content wins, whichever event (draft, submission, candidate) carried it."""
    if at < doc["content_at"]:
        return
    requester = getattr(event, "requester", None) or doc.get("requester")
    business_case = getattr(event, "business_case", None)
    costs = business_case.costs if business_case is not None else event.costs
    benefits = business_case.benefits if business_case is not None else event.benefits
    doc.update(
        content_at=at,
        title=event.title,
        requester=requester,
        sponsor=event.sponsor,
        objective_contributions=[c.model_dump(mode="json") for c in event.objective_contributions],
        costs={c.fiscal_period: format(c.amount, "f") for c in costs},
        benefits=[b.model_dump(mode="json") for b in benefits],
        timeline=event.timeline.model_dump(mode="json"),
    )


@on(intake.ProposalDrafted, intake.ProposalEdited, intake.ProposalSubmitted)
def proposal_written(docs: Documents, event: Any, meta: RecordedEvent) -> None:
    doc = _proposal(docs, event.proposal_id)
    doc["portfolio_id"] = event.portfolio_id
    _take_content(doc, event, instant(meta.time))
    if isinstance(event, intake.ProposalDrafted):
        doc["drafted_at"] = min(filter(None, [doc["drafted_at"], instant(meta.time)]))
    elif isinstance(event, intake.ProposalSubmitted):
        doc["submissions"][str(event.submission)] = instant(event.submitted_at)
    docs.put(PROPOSAL, event.proposal_id, doc, scope=event.portfolio_id)


@on(CandidateRegistered)
def candidate_registered(docs: Documents, event: CandidateRegistered, meta: RecordedEvent) -> None:
    doc = _proposal(docs, event.proposal_id)
    doc["portfolio_id"] = event.portfolio_id
    _take_content(doc, event, instant(meta.time))
    # The submission time is the proposal's; the registration stands in when it has not arrived yet.
    doc["submissions"].setdefault(str(event.submission), instant(meta.time))
    docs.put(PROPOSAL, event.proposal_id, doc, scope=event.portfolio_id)


@on(CandidateScored)
def candidate_scored(docs: Documents, event: CandidateScored, meta: RecordedEvent) -> None:
    doc = _proposal(docs, event.candidate_id)
    doc.setdefault("portfolio_id", event.portfolio_id)
    current = doc["scores"].get(event.assessor)
    # An assessor's latest scores count, whichever arrives last.
    if current is None or not current["scores"] or instant(event.scored_at) >= current["at"]:
        doc["scores"][event.assessor] = {"scores": dict(event.scores), "at": instant(event.scored_at)}
    docs.put(PROPOSAL, event.candidate_id, doc, scope=doc["portfolio_id"])


@on(intake.ProposalUnderReview)
def proposal_under_review(docs: Documents, event: intake.ProposalUnderReview, meta: RecordedEvent) -> None:
    """Intake's echo of the first score: enough to know the review started, even before the score arrives."""
    doc = _proposal(docs, event.proposal_id)
    doc.setdefault("portfolio_id", event.portfolio_id)
    doc["scores"].setdefault(event.assessor, {"scores": {}, "at": instant(event.scored_at)})
    docs.put(PROPOSAL, event.proposal_id, doc, scope=doc["portfolio_id"])


def _decided(docs: Documents, proposal_id: str, portfolio_id: str, decision_key: str, entry: Body) -> None:
    doc = _proposal(docs, proposal_id)
    doc.setdefault("portfolio_id", portfolio_id)
    doc["decisions"][decision_key] = entry
    docs.put(PROPOSAL, proposal_id, doc, scope=doc["portfolio_id"])


@on(InvestmentDecided)
def investment_decided(docs: Documents, event: InvestmentDecided, meta: RecordedEvent) -> None:
    entry = {"outcome": event.outcome, "at": instant(event.decided_at), "by": event.decided_by}
    _decided(docs, event.proposal_id, event.portfolio_id, meta.event_id, entry)


@on(*_OUTCOMES)
def proposal_decided(docs: Documents, event: Any, meta: RecordedEvent) -> None:
    """Intake's echo of the board's decision: the same decision, keyed by the decision's event id."""
    entry = {"outcome": _OUTCOMES[type(event)], "at": instant(event.decided_at), "by": event.decided_by}
    _decided(docs, event.proposal_id, event.portfolio_id, event.decision_event_id, entry)


@on(intake.ProposalWithdrawn)
def proposal_withdrawn(docs: Documents, event: intake.ProposalWithdrawn, meta: RecordedEvent) -> None:
    doc = _proposal(docs, event.proposal_id)
    doc.setdefault("portfolio_id", event.portfolio_id)
    doc.update(
        withdrawn_at=instant(event.withdrawn_at or meta.time),
        withdrawn_by=event.withdrawn_by,
        withdraw_reason=event.reason,
    )
    docs.put(PROPOSAL, event.proposal_id, doc, scope=doc["portfolio_id"])


def latest_decision(doc: Body) -> Body | None:
    return max(doc["decisions"].values(), key=lambda d: d["at"], default=None)


def proposal_status(doc: Body) -> str:
    """Derived from the facts' times, not from their arrival order."""
    if doc["withdrawn_at"]:
        return "withdrawn"
    last_submitted = max(doc["submissions"].values(), default=None)
    decision = latest_decision(doc)
    if decision is not None and (last_submitted is None or decision["at"] >= last_submitted):
        return DECIDED_STATUS[decision["outcome"]]
    if last_submitted is None:
        return "draft"
    scored = any(s["at"] >= last_submitted for s in doc["scores"].values())
    return "under_review" if scored else "submitted"


EFFECTS = (
    proposal_written,
    candidate_registered,
    candidate_scored,
    proposal_under_review,
    investment_decided,
    proposal_decided,
    proposal_withdrawn,
)
