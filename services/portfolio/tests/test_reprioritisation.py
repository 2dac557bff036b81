"""The portfolio review cycle: given events, when a cycle runs, then the ranking of running projects with the
pipeline under the CURRENT scoring model."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from pmo_events.contracts.base import Event
from pmo_events.contracts.portfolio import InvestmentDecided, PortfolioReprioritised, ReviewCycleIntervalSet
from pmo_portfolio.candidates.domain.assessments import scorecard
from pmo_portfolio.delivery.domain import reprioritisation
from pmo_portfolio.shared.errors import InvalidCommand, NotAuthorised, NotFound

from .support import NOW, PORTFOLIO_ID, created, given, model_set, money, registered, scored


def approve(candidate_id: str) -> InvestmentDecided:
    return InvestmentDecided(
        decision_id=f"d-{candidate_id}", portfolio_id=PORTFOLIO_ID, candidate_id=candidate_id,
        proposal_id=candidate_id, outcome="approve", rationale="fits", decided_by="bea", decided_at=NOW,
        approved_budget=money(("2027", "100")),
    )  # fmt: skip


def cycle(*events: Event, statuses: dict[str, str] | None = None) -> PortfolioReprioritised:
    [event] = reprioritisation.reprioritise(
        given(*events), scorecard(events, {}), statuses or {}, cycle=1, model_version=7, run_by="ann", run_at=NOW
    )
    assert isinstance(event, PortfolioReprioritised)
    return event


#: p-1 was funded for its value; c-2 waits, strong on risk.
HISTORY: tuple[Event, ...] = (
    created(),
    model_set(("value", "1"), ("risk", "0")),
    registered("p-1"),
    scored("p-1", "bea", value=5, risk=1),
    approve("p-1"),
    registered("c-2"),
    scored("c-2", "bea", value=2, risk=5),
)


def test_a_running_project_that_outranks_every_candidate_is_not_below_the_pipeline() -> None:
    ranked = cycle(*HISTORY)
    assert [(i.id, i.kind, i.rank, i.outranked_by) for i in ranked.ranking] == [
        ("p-1", "running", 1, ()),
        ("c-2", "candidate", 2, ()),
    ]
    assert ranked.below_pipeline == ()
    assert (ranked.cycle, ranked.model_version, ranked.run_by, ranked.run_at) == (1, 7, "ann", NOW)


def test_after_the_scoring_model_changed_a_running_project_ranks_below_an_unfunded_candidate() -> None:
    ranked = cycle(*HISTORY, model_set(("value", "1"), ("risk", "3")))
    assert [(i.id, i.kind, i.rank) for i in ranked.ranking] == [("c-2", "candidate", 1), ("p-1", "running", 2)]
    assert ranked.ranking[1].outranked_by == ("c-2",)
    assert ranked.ranking[1].weighted_score == Decimal("2.0000")
    assert ranked.below_pipeline == ("p-1",)
    assert [c.key for c in ranked.criteria] == ["value", "risk"]


def test_on_a_tie_the_running_project_keeps_its_place_and_is_not_below_the_pipeline() -> None:
    ranked = cycle(*HISTORY, scored("c-2", "bea", value=5, risk=1))
    assert [(i.id, i.rank) for i in ranked.ranking] == [("p-1", 1), ("c-2", 2)]
    assert ranked.ranking[0].weighted_score == ranked.ranking[1].weighted_score
    assert ranked.below_pipeline == ()


def test_unscored_lines_are_listed_not_ranked() -> None:
    ranked = cycle(*HISTORY, registered("c-3"), model_set(("value", "1"), ("reach", "1")))
    unscored = [(i.id, i.kind, i.rank, i.weighted_score) for i in ranked.ranking if i.rank is None]
    # Under a model with a criterion nobody scored, nothing has a weighted score: all listed, none ranked.
    assert unscored == [
        ("c-2", "candidate", None, None),
        ("c-3", "candidate", None, None),
        ("p-1", "running", None, None),
    ]
    assert ranked.below_pipeline == ()


def test_closed_or_cancelled_projects_and_decided_candidates_leave_the_ranking() -> None:
    rejected = approve("c-2").model_copy(update={"outcome": "reject", "approved_budget": ()})
    ranked = cycle(*HISTORY, rejected, statuses={"p-1": "closed"})
    assert ranked.ranking == ()
    assert reprioritisation.running(given(*HISTORY), {"p-1": "paused"}) == ["p-1"]


def test_a_cycle_needs_an_existing_portfolio_with_a_scoring_model() -> None:
    with pytest.raises(NotFound):
        reprioritisation.reprioritise(given(), scorecard((), {}), {}, cycle=1, model_version=0, run_by="a", run_at=NOW)
    with pytest.raises(InvalidCommand) as refused:
        reprioritisation.reprioritise(
            given(created()), scorecard((), {}), {}, cycle=1, model_version=1, run_by="a", run_at=NOW
        )
    assert refused.value.field == "scoring_model"


def test_the_interval_is_quarterly_by_default_and_set_per_portfolio() -> None:
    assert given(created()).cycle_every_days == 91
    [event] = reprioritisation.set_interval(given(created()), 30, "olga")
    assert event == ReviewCycleIntervalSet(portfolio_id=PORTFOLIO_ID, every_days=30, set_by="olga")
    assert given(created(), event).cycle_every_days == 30
    with pytest.raises(InvalidCommand) as refused:
        reprioritisation.set_interval(given(created()), 0, "olga")
    assert refused.value.field == "every_days"
    assert reprioritisation.set_interval(given(created()), 30, "ann", is_analyst=True)
    with pytest.raises(NotAuthorised):
        reprioritisation.set_interval(given(created()), 30, "bea")


def test_a_cycle_is_due_when_never_run_or_the_interval_has_passed() -> None:
    assert reprioritisation.is_due(91, None, NOW)
    assert not reprioritisation.is_due(91, NOW - timedelta(days=90), NOW)
    assert reprioritisation.is_due(91, NOW - timedelta(days=91), NOW)
