"""Related lessons as intake (for a proposal) and portfolio (for a project) answer them: one shape for both."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from pmo_events.figures.relevance import RelatedLesson
from pmo_servicekit.contract.paging import EXAMPLE_CURSOR, Page
from pmo_servicekit.contract.wire import DecimalString, Instant

RELATED_LESSON_EXAMPLE: dict[str, Any] = {
    "lesson_id": "da6b0d8f-6844-4ad8-ba3a-eea88a1f7d46",
    "project_id": "5b1f0f4e-8a43-4a37-9c55-0e6f6b7f2a10",
    "portfolio_id": "3f2c1d0e-9b8a-4c7d-8e6f-5a4b3c2d1e0f",
    "title": "Vendor contract signed late",
    "description": "Procurement took four months; start it before the gate.",
    "category": "procurement",
    "tags": ["vendor"],
    "recorded_at": "2026-10-12T15:00:00Z",
    "relevance": "6.00",
    "reason": "same category: procurement; tags: vendor; words: vendor, contract",
    "matched_category": "procurement",
    "matched_tags": ["vendor"],
    "matched_words": ["vendor", "contract"],
    "same_portfolio": False,
    "acknowledgement": None,
}
ACKNOWLEDGEMENT_EXAMPLE: dict[str, Any] = {
    "lesson_id": "da6b0d8f-6844-4ad8-ba3a-eea88a1f7d46",
    "applies": True,
    "note": "We start the vendor selection before the plan gate.",
    "acknowledged_by": "alice",
    "acknowledged_at": "2026-11-02T09:30:00Z",
}


class LessonAcknowledgementBody(BaseModel):
    """Whether the lesson applies to this proposal or project, and why (what the team will do about it)."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"applies": True, "note": ACKNOWLEDGEMENT_EXAMPLE["note"]}]}
    )

    applies: bool
    note: str = Field(min_length=1, max_length=2000, pattern=r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$")


class LessonAcknowledgementView(BaseModel):
    """A team's word on an offered lesson: whether it applies, why, who and when (the latest word counts)."""

    model_config = ConfigDict(json_schema_extra={"examples": [ACKNOWLEDGEMENT_EXAMPLE]})

    lesson_id: str
    applies: bool
    note: str
    acknowledged_by: str
    acknowledged_at: Instant


class RelatedLessonView(BaseModel):
    """A lesson another team recorded, offered because it is relevant: how relevant and why."""

    model_config = ConfigDict(json_schema_extra={"examples": [RELATED_LESSON_EXAMPLE]})

    lesson_id: str
    project_id: str = Field(description="the project that learned it")
    portfolio_id: str
    title: str
    description: str
    category: str
    tags: list[str]
    recorded_at: Instant
    relevance: DecimalString = Field(
        description="3 for the category, 2 per tag, 0.5 per shared word (at most 5), up to 1 for the search's "
        "rank, 1 for the same portfolio (docs/figures.md)"
    )
    reason: str = Field(description="why it is offered, in words: category, tags, shared words, portfolio")
    matched_category: str | None = Field(description="the lesson's category, when the team's words name it")
    matched_tags: list[str]
    matched_words: list[str]
    same_portfolio: bool
    acknowledgement: LessonAcknowledgementView | None = Field(
        default=None, description="the team's latest word on this lesson; null until it acknowledged it"
    )

    @classmethod
    def of(cls, related: RelatedLesson, acknowledgement: dict[str, Any] | None = None) -> RelatedLessonView:
        lesson = related.lesson
        return cls(
            lesson_id=lesson.lesson_id,
            project_id=lesson.project_id,
            portfolio_id=lesson.portfolio_id,
            title=lesson.title,
            description=lesson.description,
            category=lesson.category,
            tags=list(lesson.tags),
            recorded_at=lesson.recorded_at,
            relevance=related.relevance,
            reason=related.reason,
            matched_category=related.category,
            matched_tags=list(related.tags),
            matched_words=list(related.words),
            same_portfolio=related.same_portfolio,
            acknowledgement=None if acknowledgement is None else LessonAcknowledgementView(**acknowledgement),
        )


class RelatedLessonPage(Page[RelatedLessonView]):
    """The lessons most relevant to a proposal or project, most relevant first (at most 20)."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"items": [RELATED_LESSON_EXAMPLE], "next_cursor": EXAMPLE_CURSOR}]}
    )
