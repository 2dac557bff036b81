"""Lessons offered to proposals' and projects' teams, and their acknowledgements, in the lessons reports."""

from __future__ import annotations

from pmo_reporting.projections.catalogue import PORTFOLIO
from pmo_reporting.projections.documents import InMemoryDocuments
from pmo_reporting.reports.registers import lesson_feedback, lessons_library

from .support import T0, History, standard_history, with_lessons


def fold(history: History, *, until_day: float | None = None) -> InMemoryDocuments:
    docs = InMemoryDocuments()
    for event in history.events:
        if until_day is None or (event.time - T0).total_seconds() <= until_day * 86400:
            PORTFOLIO.apply(docs, event)
    return docs


def uptake(docs: InMemoryDocuments) -> dict[str, tuple]:
    fields = (
        "times_offered",
        "offered_to",
        "acknowledged_applies",
        "acknowledged_does_not_apply",
        "unacknowledged",
        "last_offered_at",
    )
    return {lesson["lesson_id"]: tuple(lesson[f] for f in fields) for lesson in lessons_library(docs)}


def test_the_library_counts_offers_and_acknowledgements_per_lesson() -> None:
    docs = fold(with_lessons(standard_history()))
    assert uptake(docs) == {
        # Offered to p-4 when drafted and again when submitted; p-4 said it applies.
        "l-1": (2, 1, 1, 0, 0, "2026-03-08T09:00:00+00:00"),
        # Offered to p-4 (not acknowledged) and to project p-9 (does not apply).
        "l-2": (2, 2, 0, 1, 1, "2026-03-10T09:00:00+00:00"),
    }


def test_a_lesson_never_offered_counts_nothing() -> None:
    h = standard_history()
    h.at(60).lesson("p-1", "pf-1", "l-1", "Pilot first")
    assert uptake(fold(h)) == {"l-1": (0, 0, 0, 0, 0, None)}


def test_feedback_lists_each_offer_with_the_teams_word_and_what_is_unacknowledged() -> None:
    docs = fold(with_lessons(standard_history()))
    rows = lesson_feedback(docs, portfolio_id="pf-1")
    assert [(r["subject"], r["subject_id"], r["lesson_id"], r["times_offered"], r["acknowledged"], r["applies"])
            for r in rows] == [
        ("proposal", "p-4", "l-1", 2, True, True),
        ("proposal", "p-4", "l-2", 1, False, None),
        ("project", "p-9", "l-2", 1, True, False),
    ]  # fmt: skip
    first = rows[0]
    assert (first["title"], first["occasion"], first["relevance"], first["reason"]) == (
        "Pilot first", "submitted", "0.50", "like l-1",
    )  # fmt: skip
    assert (first["acknowledged_by"], first["note"]) == ("rita", "read it")
    open_ones = lesson_feedback(docs, portfolio_id="pf-1", acknowledged=False)
    assert [(r["subject_id"], r["lesson_id"]) for r in open_ones] == [("p-4", "l-2")]
    assert [r["lesson_id"] for r in lesson_feedback(docs, subject_id="p-9")] == ["l-2"]
    assert lesson_feedback(docs, portfolio_id="pf-other") == []


def test_the_latest_acknowledgement_is_the_teams_word() -> None:
    h = with_lessons(standard_history())
    h.at(70).acknowledged("p-4", "pf-1", "l-1", False)
    docs = fold(h)
    row = next(r for r in lesson_feedback(docs) if r["lesson_id"] == "l-1")
    assert (row["applies"], row["acknowledged_at"]) == (False, "2026-03-16T09:00:00+00:00")
    assert uptake(docs)["l-1"][2:5] == (0, 1, 0)


def test_as_of_an_instant_before_the_acknowledgement_it_is_still_open() -> None:
    docs = fold(with_lessons(standard_history()), until_day=62)
    assert [(r["lesson_id"], r["acknowledged"]) for r in lesson_feedback(docs)] == [("l-1", False), ("l-2", False)]
    assert uptake(docs)["l-1"] == (2, 1, 0, 0, 1, "2026-03-08T09:00:00+00:00")
