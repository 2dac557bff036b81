"""Lessons learned: recorded by the project's team at any time, also after closure or cancellation, and
offered to other projects they are relevant to; what a project's team was offered and said is folded by the
shared `pmo_events.figures.lesson_feedback` (intake's proposals use it too)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from pmo_events.contracts.base import Event
from pmo_events.contracts.portfolio import LessonRecorded, ProjectLessonAcknowledged, ProjectLessonsOffered
from pmo_events.contracts.portfolio.delivery import Gate
from pmo_events.figures.lesson_feedback import (
    Acknowledgement,
    LessonFeedback,
    feedback_stream,
    offered_lessons,
)
from pmo_events.figures.lesson_feedback import evolve as evolve_feedback
from pmo_events.figures.lesson_feedback import initial as initial_feedback
from pmo_events.figures.relevance import RelatedLesson, Subject, search_terms
from pmo_portfolio.delivery.domain.lifecycle import existing
from pmo_portfolio.delivery.domain.project import Project


@dataclass(frozen=True)
class Lesson:
    title: str
    description: str
    category: str
    tags: tuple[str, ...] = ()
    decision_id: str | None = None


def record_lessons(project: Project, lessons: tuple[Lesson, ...], by: str, at: datetime) -> list[Event]:
    """Lessons are welcome at any time, also after closure or cancellation."""
    existing(project)
    return [
        LessonRecorded(
            project_id=project.project_id,
            portfolio_id=project.portfolio_id,
            lesson_id=str(uuid.uuid4()),
            recorded_by=by,
            recorded_at=at,
            **lesson.__dict__,
        )
        for lesson in lessons
    ]


def lesson_subject(project: Project) -> Subject:
    """What the project is about, as the relevance rule reads it (its own lessons are never offered back)."""
    benefits = [b.description for b in project.benefits]
    roles = [r.role for r in project.resource_estimate]
    return Subject(
        portfolio_id=project.portfolio_id,
        terms=search_terms(project.title, *benefits, *roles),
        project_id=project.project_id,
    )


def offer_at_gate(project: Project, related: Sequence[RelatedLesson], gate: Gate, at: datetime) -> list[Event]:
    """A project that passed a gate is offered the lessons most relevant to it (none: nothing is recorded)."""
    if not related:
        return []
    return [
        ProjectLessonsOffered(
            project_id=project.project_id,
            portfolio_id=project.portfolio_id,
            feedback_id=feedback_stream(project.project_id),
            occasion=gate,
            lessons=offered_lessons(related),
            offered_at=at,
        )
    ]


def acknowledge(project: Project, lesson_id: str, *, applies: bool, note: str, by: str, at: datetime) -> list[Event]:
    """The project's team says whether a lesson applies to it, and why (the caller checked it is the team)."""
    existing(project)
    return [
        ProjectLessonAcknowledged(
            project_id=project.project_id,
            portfolio_id=project.portfolio_id,
            feedback_id=feedback_stream(project.project_id),
            lesson_id=lesson_id,
            applies=applies,
            note=note,
            acknowledged_by=by,
            acknowledged_at=at,
        )
    ]


__all__ = [
    "Acknowledgement",
    "Lesson",
    "LessonFeedback",
    "acknowledge",
    "evolve_feedback",
    "feedback_stream",
    "initial_feedback",
    "lesson_subject",
    "offer_at_gate",
    "record_lessons",
]
