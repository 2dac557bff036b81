"""Lessons learned: recorded by the project's team at any time, also after closure or cancellation."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from pmo_events.contracts.base import Event
from pmo_events.contracts.portfolio import LessonRecorded
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
