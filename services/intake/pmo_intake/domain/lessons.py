"""Lessons offered to a proposal: which (its own words under the shared relevance rule), when they were
offered, and its team's acknowledgements, on a stream of their own (`lessons-<proposal_id>`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Literal

from pydantic import BaseModel

from pmo_events.contracts.base import Event
from pmo_events.contracts.common import OfferedLesson
from pmo_events.contracts.intake import LessonAcknowledged, LessonsOffered
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


def feedback_stream(proposal_id: str) -> str:
    return f"lessons-{proposal_id}"


class Acknowledgement(BaseModel):
    lesson_id: str
    applies: bool
    note: str
    acknowledged_by: str
    acknowledged_at: datetime


class LessonFeedback(BaseModel):
    """What the proposal's team was offered and what it said of each lesson (the latest word counts)."""

    feedback_id: str
    offered: tuple[str, ...] = ()
    acknowledged: dict[str, Acknowledgement] = {}


def initial(feedback_id: str) -> LessonFeedback:
    return LessonFeedback(feedback_id=feedback_id)


def evolve(state: LessonFeedback, event: Event) -> LessonFeedback:
    if isinstance(event, LessonsOffered):
        offered = tuple(dict.fromkeys([*state.offered, *(lesson.lesson_id for lesson in event.lessons)]))
        return state.model_copy(update={"offered": offered})
    if isinstance(event, LessonAcknowledged):
        said = Acknowledgement(
            lesson_id=event.lesson_id,
            applies=event.applies,
            note=event.note,
            acknowledged_by=event.acknowledged_by,
            acknowledged_at=event.acknowledged_at,
        )
        return state.model_copy(update={"acknowledged": {**state.acknowledged, event.lesson_id: said}})
    return state


def offer(proposal: Proposal, related: Sequence[RelatedLesson], *, occasion: Occasion, at: datetime) -> list[Event]:
    """Offer the related lessons (none: nothing is recorded)."""
    if not related:
        return []
    lessons = tuple(
        OfferedLesson(lesson_id=r.lesson.lesson_id, relevance=r.relevance, reason=r.reason) for r in related
    )
    return [
        LessonsOffered(
            proposal_id=proposal.proposal_id,
            portfolio_id=proposal.portfolio_id,
            feedback_id=feedback_stream(proposal.proposal_id),
            occasion=occasion,
            lessons=lessons,
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
