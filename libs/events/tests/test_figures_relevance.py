"""The relevance of a lesson: given recorded lessons, when a proposal or project asks, then ranked with reasons."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

from pmo_events.figures.relevance import LessonCandidate, Subject, rank_lessons, search_terms, stem

AT = datetime(2026, 11, 1, tzinfo=UTC)


def lesson(lesson_id: str, **fields: object) -> LessonCandidate:
    base = LessonCandidate(
        lesson_id=lesson_id,
        project_id="crm",
        portfolio_id="change",
        title="A lesson",
        description="Something happened",
        category="delivery",
        tags=(),
        recorded_at=AT,
        text_rank=0.0,
    )
    return replace(base, **fields)  # type: ignore[arg-type]


def proposal(text: str, portfolio_id: str = "change") -> Subject:
    return Subject(portfolio_id=portfolio_id, terms=search_terms(text))


def test_search_terms_keep_distinct_meaningful_words_in_order() -> None:
    assert search_terms("The new Vendor contract, with the vendor's SLA (2027)", None) == (
        "vendor",
        "contract",
        "sla",
    )
    assert search_terms("") == ()
    assert stem("contracts") == stem("contract") == "contract"
    assert stem("delays") == "delay" and stem("policies") == "policy"


def test_given_a_lesson_of_the_category_the_proposal_names_then_it_is_offered_with_that_reason() -> None:
    procurement = lesson("l1", category="procurement", title="Vendor contract signed late")
    (offered,) = rank_lessons(proposal("Procurement of a vendor contract"), [procurement], limit=5)
    assert offered.category == "procurement"
    assert offered.words == ("procurement", "vendor", "contract")
    assert offered.reason == "same category: procurement; words: procurement, vendor, contract; same portfolio"
    # 3 (category) + 3 x 0.5 (words) + 1 (same portfolio); no text rank in this search
    assert offered.relevance == Decimal("5.50")


def test_given_tags_named_by_the_proposal_then_each_counts_and_is_named() -> None:
    tagged = lesson("l1", tags=("erp", "data migration", "training"), portfolio_id="other")
    (offered,) = rank_lessons(proposal("ERP rollout: data migrations first"), [tagged], limit=5)
    assert offered.tags == ("erp", "data migration")
    assert offered.reason == "tags: erp, data migration; words: erp, data, migrations"
    assert offered.same_portfolio is False
    assert offered.relevance == Decimal("5.50")


def test_given_lessons_sharing_nothing_then_none_is_offered_even_from_the_same_portfolio() -> None:
    unrelated = lesson("l1", title="Office move", description="Book rooms early", category="facilities")
    assert rank_lessons(proposal("Replace the CRM"), [unrelated], limit=5) == []


def test_when_only_the_search_engine_saw_a_likeness_then_the_reason_says_similar_wording() -> None:
    stemmed = lesson("l1", title="Happy users", description="asked early", text_rank=0.3, portfolio_id="other")
    (offered,) = rank_lessons(proposal("Customer happiness"), [stemmed], limit=5)
    assert offered.reason == "similar wording"
    assert offered.relevance == Decimal("1.00")


def test_then_lessons_rank_by_relevance_then_newest_then_id_and_the_limit_holds() -> None:
    newer = datetime(2026, 11, 2, tzinfo=UTC)
    candidates = [
        lesson("a", title="vendor"),
        lesson("b", title="vendor", recorded_at=newer),
        lesson("c", title="vendor contract", text_rank=2.0),
        lesson("d", title="vendor", text_rank=1.0),
        lesson("e", title="vendor"),
    ]
    ranked = rank_lessons(proposal("vendor contract"), candidates, limit=4)
    assert [r.lesson.lesson_id for r in ranked] == ["c", "d", "b", "a"]
    assert [r.relevance for r in ranked] == [Decimal("3.00"), Decimal("2.00"), Decimal("1.50"), Decimal("1.50")]


def test_given_the_same_portfolio_then_it_outranks_an_equal_lesson_elsewhere() -> None:
    here, there = lesson("here", title="vendor"), lesson("there", title="vendor", portfolio_id="other")
    ranked = rank_lessons(proposal("vendor"), [there, here], limit=5)
    assert [(r.lesson.lesson_id, r.same_portfolio) for r in ranked] == [("here", True), ("there", False)]


def test_given_a_project_then_its_own_lessons_are_not_offered_back_to_it() -> None:
    own, other = lesson("own", title="vendor", project_id="crm"), lesson("other", title="vendor", project_id="erp")
    subject = Subject(portfolio_id="change", terms=("vendor",), project_id="crm")
    assert [r.lesson.lesson_id for r in rank_lessons(subject, [own, other], limit=5)] == ["other"]
