"""Lessons offered to proposals' and projects' teams, and whether each team acknowledged them (issue 15)."""

from __future__ import annotations

from pmo_events.contracts.intake import LessonAcknowledged, LessonsOffered
from pmo_events.contracts.portfolio import ProjectLessonAcknowledged, ProjectLessonsOffered
from pmo_events.envelope import RecordedEvent
from pmo_reporting.projections.base import instant, on
from pmo_reporting.projections.documents import Body, Documents

#: One document per proposal and per project that was offered lessons, keyed by its id (a project keeps its
#: proposal's id, so the two are kinds of their own).
PROPOSAL_LESSONS = "proposal_lessons"
PROJECT_LESSONS = "project_lessons"


def _feedback(docs: Documents, kind: str, subject_id: str, portfolio_id: str) -> Body:
    return docs.get(kind, subject_id) or {"id": subject_id, "portfolio_id": portfolio_id, "offers": {}}


@on(LessonsOffered, ProjectLessonsOffered)
def lessons_offered(docs: Documents, event: LessonsOffered | ProjectLessonsOffered, meta: RecordedEvent) -> None:
    """Each offered lesson counts one more offer; the last offer's occasion, relevance and reason are kept."""
    if isinstance(event, LessonsOffered):
        kind, subject_id = PROPOSAL_LESSONS, event.proposal_id
    else:
        kind, subject_id = PROJECT_LESSONS, event.project_id
    doc = _feedback(docs, kind, subject_id, event.portfolio_id)
    for offered in event.lessons:
        offer = doc["offers"].setdefault(offered.lesson_id, {"times_offered": 0, "acknowledgement": None})
        offer.update(
            times_offered=offer["times_offered"] + 1,
            last_offered_at=instant(event.offered_at),
            occasion=event.occasion,
            relevance=format(offered.relevance, "f"),
            reason=offered.reason,
        )
    docs.put(kind, subject_id, doc, scope=event.portfolio_id)


@on(LessonAcknowledged, ProjectLessonAcknowledged)
def lesson_acknowledged(
    docs: Documents, event: LessonAcknowledged | ProjectLessonAcknowledged, meta: RecordedEvent
) -> None:
    """The team's latest word on the lesson (applies or not, and why) replaces an earlier one."""
    if isinstance(event, LessonAcknowledged):
        kind, subject_id = PROPOSAL_LESSONS, event.proposal_id
    else:
        kind, subject_id = PROJECT_LESSONS, event.project_id
    doc = _feedback(docs, kind, subject_id, event.portfolio_id)
    offer = doc["offers"].setdefault(event.lesson_id, {"times_offered": 0, "acknowledgement": None})
    offer["acknowledgement"] = {
        "applies": event.applies,
        "note": event.note,
        "acknowledged_by": event.acknowledged_by,
        "acknowledged_at": instant(event.acknowledged_at),
    }
    docs.put(kind, subject_id, doc, scope=event.portfolio_id)


EFFECTS = (lessons_offered, lesson_acknowledged)
