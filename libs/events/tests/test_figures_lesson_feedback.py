"""Lesson feedback: given lessons offered to a proposal's or a project's team and its acknowledgements, then
one state (intake and portfolio fold their own events with the same rule)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from pmo_events.contracts.base import Event
from pmo_events.contracts.common import OfferedLesson
from pmo_events.contracts.intake import LessonAcknowledged, LessonsOffered
from pmo_events.contracts.portfolio import ProjectLessonAcknowledged, ProjectLessonsOffered
from pmo_events.figures.lesson_feedback import Acknowledgement, LessonFeedback, evolve, feedback_stream, initial

AT = datetime(2027, 3, 1, 9, tzinfo=UTC)
LATER = datetime(2027, 3, 2, 9, tzinfo=UTC)


def lessons(*ids: str) -> tuple[OfferedLesson, ...]:
    return tuple(OfferedLesson(lesson_id=i, relevance=Decimal("3.00"), reason="same category: delivery") for i in ids)


def proposal_offered(*ids: str) -> Event:
    where = {"proposal_id": "pr-1", "portfolio_id": "pf", "feedback_id": feedback_stream("pr-1")}
    return LessonsOffered(**where, occasion="drafted", lessons=lessons(*ids), offered_at=AT)


def proposal_said(lesson_id: str, applies: bool, at: datetime) -> Event:
    where = {"proposal_id": "pr-1", "portfolio_id": "pf", "feedback_id": feedback_stream("pr-1")}
    return LessonAcknowledged(
        **where, lesson_id=lesson_id, applies=applies, note="seen", acknowledged_by="alice", acknowledged_at=at
    )


def project_offered(*ids: str) -> Event:
    where = {"project_id": "p-1", "portfolio_id": "pf", "feedback_id": feedback_stream("p-1")}
    return ProjectLessonsOffered(**where, occasion="plan", lessons=lessons(*ids), offered_at=AT)


def project_said(lesson_id: str, applies: bool, at: datetime) -> Event:
    where = {"project_id": "p-1", "portfolio_id": "pf", "feedback_id": feedback_stream("p-1")}
    return ProjectLessonAcknowledged(
        **where, lesson_id=lesson_id, applies=applies, note="seen", acknowledged_by="alice", acknowledged_at=at
    )


def folded(subject_id: str, *events: Event) -> LessonFeedback:
    state = initial(feedback_stream(subject_id))
    for event in events:
        state = evolve(state, event)
    return state


@pytest.mark.parametrize(
    ("subject_id", "offered", "said"),
    [("pr-1", proposal_offered, proposal_said), ("p-1", project_offered, project_said)],
    ids=["proposal", "project"],
)
def test_offers_add_new_lessons_in_first_offered_order_and_the_latest_word_on_a_lesson_counts(
    subject_id: str, offered: Callable[..., Event], said: Callable[[str, bool, datetime], Event]
) -> None:
    state = folded(
        subject_id, offered("l-1", "l-2"), offered("l-2", "l-3"), said("l-2", True, AT), said("l-2", False, LATER)
    )
    assert state.feedback_id == f"lessons-{subject_id}"
    assert state.offered == ("l-1", "l-2", "l-3")
    assert state.acknowledged == {
        "l-2": Acknowledgement(
            lesson_id="l-2", applies=False, note="seen", acknowledged_by="alice", acknowledged_at=LATER
        )
    }


def test_a_fresh_feedback_stream_has_nothing_offered_or_said() -> None:
    assert folded("p-9") == LessonFeedback(feedback_id="lessons-p-9")
