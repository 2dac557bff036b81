"""Candidates from intake: a submitted proposal is registered for the board; a withdrawn one stops awaiting it."""

from __future__ import annotations

from pmo_events.contracts.base import Event
from pmo_events.contracts.intake import ProposalSubmitted, ProposalWithdrawn
from pmo_events.contracts.portfolio import CandidateRegistered, CandidateWithdrawn
from pmo_portfolio.funding.domain import AWAITING_DECISION, Portfolio
from pmo_portfolio.shared.errors import NotFound


def register_candidate(portfolio: Portfolio, submitted: ProposalSubmitted) -> list[Event]:
    """A submitted (or resubmitted) proposal becomes a candidate; a submission seen before is ignored.

    An approved candidate is a project now: a later submission of the same proposal changes nothing.
    """
    if not portfolio.exists:
        raise NotFound(f"portfolio {portfolio.portfolio_id}")
    known = portfolio.candidates.get(submitted.proposal_id)
    if known is not None and (known.submission >= submitted.submission or known.status == "approved"):
        return []
    return [
        CandidateRegistered(
            portfolio_id=portfolio.portfolio_id,
            candidate_id=submitted.proposal_id,
            proposal_id=submitted.proposal_id,
            submission=submitted.submission,
            title=submitted.title,
            requester=submitted.requester,
            sponsor=submitted.sponsor,
            costs=submitted.business_case.costs,
            benefits=submitted.business_case.benefits,
            objective_contributions=submitted.objective_contributions,
            timeline=submitted.timeline,
            resource_estimate=submitted.resource_estimate,
            summary=submitted.summary,
            risk_level=submitted.risk_level,
            dependencies=submitted.dependencies,
            programme_id=submitted.programme_id,
        )
    ]


def withdraw_candidate(portfolio: Portfolio, withdrawn: ProposalWithdrawn) -> list[Event]:
    """A withdrawn proposal stops awaiting a decision; a decided (or unknown) one is left as it is."""
    known = portfolio.candidates.get(withdrawn.proposal_id)
    if not portfolio.exists or known is None or known.status not in AWAITING_DECISION | {"changes_requested"}:
        return []
    return [
        CandidateWithdrawn(
            portfolio_id=portfolio.portfolio_id,
            candidate_id=known.candidate_id,
            proposal_id=withdrawn.proposal_id,
            withdrawn_by=withdrawn.withdrawn_by,
            reason=withdrawn.reason,
            withdrawn_at=withdrawn.withdrawn_at,
        )
    ]
