"""Lessons offered to a team and what it said of each: one fold, so intake (a proposal's team) and portfolio
(a project's team) keep the same feedback, each on a stream of its own (`lessons-<proposal or project id>`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from pydantic import BaseModel

from pmo_events.contracts.base import Event
from pmo_events.contracts.common import OfferedLesson
from pmo_events.contracts.intake import LessonAcknowledged, LessonsOffered
from pmo_events.contracts.portfolio import ProjectLessonAcknowledged, ProjectLessonsOffered
from pmo_events.figures.relevance import RelatedLesson


def feedback_stream(subject_id: str) -> str:
    """The stream of the lessons offered to a proposal or a project and its team's acknowledgements."""
    return f"lessons-{subject_id}"


def offered_lessons(related: Sequence[RelatedLesson]) -> tuple[OfferedLesson, ...]:
    """The related lessons as an offer records them: each with its relevance and the reason for it."""
    return tuple(OfferedLesson(lesson_id=r.lesson.lesson_id, relevance=r.relevance, reason=r.reason) for r in related)


class Acknowledgement(BaseModel):
    lesson_id: str
    applies: bool
    note: str
    acknowledged_by: str
    acknowledged_at: datetime


class LessonFeedback(BaseModel):
    """What the team was offered and what it said of each lesson (the latest word counts)."""

    feedback_id: str
    offered: tuple[str, ...] = ()
    acknowledged: dict[str, Acknowledgement] = {}


def initial(feedback_id: str) -> LessonFeedback:
    return LessonFeedback(feedback_id=feedback_id)


def evolve(state: LessonFeedback, event: Event) -> LessonFeedback:
    """Offers add the lessons not offered before (in the order first offered); an acknowledgement replaces
    the team's earlier word on that lesson."""
    if isinstance(event, (LessonsOffered, ProjectLessonsOffered)):
        offered = tuple(dict.fromkeys([*state.offered, *(lesson.lesson_id for lesson in event.lessons)]))
        return state.model_copy(update={"offered": offered})
    if isinstance(event, (LessonAcknowledged, ProjectLessonAcknowledged)):
        said = Acknowledgement.model_validate(event.model_dump(include=set(Acknowledgement.model_fields)))
        return state.model_copy(update={"acknowledged": {**state.acknowledged, event.lesson_id: said}})
    return state
