"""Which lessons a proposal is offered: its own words (title, summary, benefits) under the shared relevance rule."""

from __future__ import annotations

from pmo_events.figures.relevance import Subject, search_terms
from pmo_intake.domain.proposal import Proposal


def lesson_subject(proposal: Proposal) -> Subject:
    """What the proposal is about, as the relevance rule reads it."""
    benefits = [b.description for b in proposal.business_case.benefits]
    roles = [r.role for r in proposal.resource_estimate]
    return Subject(
        portfolio_id=proposal.portfolio_id, terms=search_terms(proposal.title, proposal.summary, *benefits, *roles)
    )
