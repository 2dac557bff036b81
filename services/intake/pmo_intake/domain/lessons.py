"""Lessons offered to a proposal: which (its own words under the shared relevance rule), when they were
offered, and its team's acknowledgements, on a stream of their own (`lessons-<proposal_id>`), folded by the
shared `pmo_events.figures.lesson_feedback` (portfolio's projects use it too)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Literal

from pmo_events.contracts.base import Event
from pmo_events.contracts.intake import LessonAcknowledged, LessonsOffered
from pmo_events.figures.lesson_feedback import (
    Acknowledgement,
    LessonFeedback,
    evolve,
    feedback_stream,
    initial,
    offered_lessons,
)
from pmo_events.figures.relevance import RelatedLesson, Subject, search_terms
from pmo_intake.domain.lifecycle import Actor, check_may_change
from pmo_intake.domain.proposal import Proposal

Occasion = Literal["drafted", "submitted"]


def lesson_subject(proposal: Proposal) -> Subject:
    """What the proposal is about, as the relevance rule reads it."""
    benefits = [b.description for b in proposal.business_case.benefits]
    roles = [r.role for r in proposal.resource_estimate]
    return Subject(
        portfolio_id=proposal.portfolio_id, terms=search_terms(proposal.title, proposal.summary, *benefits, *roles)
    )


def offer(proposal: Proposal, related: Sequence[RelatedLesson], *, occasion: Occasion, at: datetime) -> list[Event]:
    """Offer the related lessons (none: nothing is recorded)."""
    if not related:
        return []
    return [
        LessonsOffered(
            proposal_id=proposal.proposal_id,
            portfolio_id=proposal.portfolio_id,
            feedback_id=feedback_stream(proposal.proposal_id),
            occasion=occasion,
            lessons=offered_lessons(related),
            offered_at=at,
        )
    ]


def acknowledge(
    proposal: Proposal, lesson_id: str, *, applies: bool, note: str, actor: Actor, at: datetime
) -> list[Event]:
    """The proposal's team says whether a lesson applies; the requester, a pmo_analyst or an admin speak for it."""
    check_may_change(proposal, actor)
    return [
        LessonAcknowledged(
            proposal_id=proposal.proposal_id,
            portfolio_id=proposal.portfolio_id,
            feedback_id=feedback_stream(proposal.proposal_id),
            lesson_id=lesson_id,
            applies=applies,
            note=note,
            acknowledged_by=actor.subject,
            acknowledged_at=at,
        )
    ]


__all__ = [
    "Acknowledgement",
    "LessonFeedback",
    "Occasion",
    "acknowledge",
    "evolve",
    "feedback_stream",
    "initial",
    "lesson_subject",
    "offer",
]
