"""Dependencies on a programme milestone (the end of a tranche): given the programme's and the graph's events,
when the tranche is planned again or reviewed, then the dependent is flagged at risk, cleared, met or cancelled;
a cycle through a milestone is refused."""

from __future__ import annotations

from datetime import date

import pytest

from pmo_events.contracts.base import Event
from pmo_events.contracts.portfolio import (
    DependencyAtRisk,
    DependencyRegistered,
    DependencyRiskCleared,
    ProgrammeMilestone,
    TrancheDecision,
)
from pmo_portfolio.dependencies import domain as rules
from pmo_portfolio.dependencies.commands import milestone_outlook
from pmo_portfolio.dependencies.domain import RegisterDependency
from pmo_portfolio.programmes import domain as programme_rules
from pmo_portfolio.programmes.domain import Programme, TranchePlan
from pmo_portfolio.shared.errors import InvalidCommand, RuleViolation

from .support import NOW, PORTFOLIO_ID
from .test_dependencies import command as project_dependency
from .test_dependencies import given as graph
from .test_programmes import given as programme
from .test_programmes import joined, programme_created, tranche

NEED = date(2027, 6, 30)
T1 = ProgrammeMilestone(programme_id="pg-1", tranche_id="t-1")
#: A programme whose first tranche (p-core) ends 2027-06-01, before the need date.
PLANNED: tuple[Event, ...] = (
    programme_created(),
    joined("p-core"),
    joined("p-edge"),
    tranche("t-1", 1, date(2027, 1, 1), date(2027, 6, 1), "p-core"),
)


def on_milestone(dependent: str = "p-web", dependency_id: str = "d-1") -> RegisterDependency:
    return RegisterDependency(dependency_id, dependent, None, T1, "the core platform live", NEED, "paul", "ann", NOW)


def tranches(state: Programme) -> dict[ProgrammeMilestone, tuple[str, ...]]:
    return {T1: state.tranches["t-1"].project_ids}


def registration(*history: Event) -> list[Event]:
    state = programme(*history)
    return rules.register(graph(), PORTFOLIO_ID, on_milestone(), milestone_outlook(state, state.tranches["t-1"]),
                          tranches(state))  # fmt: skip


def when_the_programme(graph_events: list[Event], *history: Event) -> list[Event]:
    """What the dependencies on the milestone become after the programme's news (`history`)."""
    state = programme(*history)
    outlook = milestone_outlook(state, state.tranches["t-1"])
    return rules.reassess(graph(*graph_events), rules.milestone_node(T1), outlook, "e-1", NOW)


def replan(history: tuple[Event, ...], end: date) -> tuple[Event, ...]:
    plan = TranchePlan("t-1", "Foundations", date(2027, 1, 1), end, ("p-core",))
    return (*history, *programme_rules.plan_tranche(programme(*history), plan, "paul", NOW))


def review(history: tuple[Event, ...], decision: TrancheDecision) -> tuple[Event, ...]:
    return (*history, *programme_rules.review_tranche(programme(*history), "t-1", decision, "done", "sara", NOW))


def test_a_dependency_on_a_milestone_names_the_programme_and_tranche_and_no_provider_project() -> None:
    [event] = registration(*PLANNED)
    assert isinstance(event, DependencyRegistered)
    assert (event.provider_project_id, event.provider_milestone) == (None, T1)
    assert event.related_ids() == ["p-web", "pg-1"]
    assert graph(event).dependencies["d-1"].provider == ("milestone", "pg-1", "t-1")


def test_a_tranche_planned_past_the_need_date_flags_the_dependent_and_planned_back_clears_it() -> None:
    registered = registration(*PLANNED)
    slipped = replan(PLANNED, date(2027, 9, 30))
    [flagged] = when_the_programme(registered, *slipped)
    assert isinstance(flagged, DependencyAtRisk)
    assert (flagged.cause, flagged.provider_forecast_end, flagged.provider_milestone) == (
        "forecast_after_need_date",
        date(2027, 9, 30),
        T1,
    )
    assert when_the_programme([*registered, flagged], *slipped) == []  # the same news flags once
    recovered = replan(slipped, date(2027, 6, 30))  # on the need date is in time
    [cleared] = when_the_programme([*registered, flagged], *recovered)
    assert isinstance(cleared, DependencyRiskCleared) and cleared.provider_forecast_end == date(2027, 6, 30)
    assert not graph(*registered, flagged, cleared).dependencies["d-1"].at_risk


def test_a_continue_review_meets_the_milestone_even_when_it_was_late() -> None:
    slipped = replan(PLANNED, date(2027, 9, 30))
    registered = registration(*slipped)
    assert isinstance(registered[-1], DependencyAtRisk)  # already late when registered
    [cleared] = when_the_programme(registered, *review(slipped, "continue"))
    assert isinstance(cleared, DependencyRiskCleared)
    assert when_the_programme(registered[:1], *review(PLANNED, "continue")) == []  # met on time: nothing to say


def test_closing_the_programme_cancels_the_milestones_not_met() -> None:
    registered = registration(*PLANNED)
    [cancelled] = when_the_programme(registered, *review(PLANNED, "close_programme"))
    assert isinstance(cancelled, DependencyAtRisk) and cancelled.cause == "provider_cancelled"
    met_then_closed = (
        *review(PLANNED, "continue"),
        tranche("t-2", 2, date(2027, 7, 1), date(2027, 12, 1), "p-edge"),
    )
    closed = (*met_then_closed, *programme_rules.review_tranche(programme(*met_then_closed), "t-2",
                                                               "close_programme", "stop", "sara", NOW))  # fmt: skip
    assert when_the_programme(registered, *closed) == []  # the first tranche's milestone was met before


def test_a_re_plan_review_keeps_the_milestone_forecast_until_the_tranche_is_planned_again() -> None:
    registered = registration(*PLANNED)
    assert when_the_programme(registered, *review(PLANNED, "re_plan")) == []


def test_a_project_of_the_tranche_cannot_need_its_milestone_nor_lead_to_it() -> None:
    state = programme(*PLANNED)
    outlook = milestone_outlook(state, state.tranches["t-1"])
    with pytest.raises(RuleViolation) as itself:
        rules.register(graph(), PORTFOLIO_ID, on_milestone("p-core"), outlook, tranches(state))
    assert "p-core → milestone t-1 of programme pg-1 → p-core" in str(itself.value)
    # p-core needs p-api: p-api needing the milestone closes p-api → milestone → p-core → p-api
    through = graph(*rules.register(graph(), PORTFOLIO_ID, project_dependency("p-core", "p-api"), outlook))
    with pytest.raises(RuleViolation) as chain:
        rules.register(through, PORTFOLIO_ID, on_milestone("p-api", "d-2"), outlook, tranches(state))
    assert "p-api → milestone t-1 of programme pg-1 → p-core → p-api" in str(chain.value)
    assert rules.register(through, PORTFOLIO_ID, on_milestone("p-web", "d-2"), outlook, tranches(state))


def test_a_tranche_planned_with_a_project_that_needs_its_milestone_is_refused() -> None:
    state = programme(*PLANNED)
    registered = graph(*rules.register(graph(), PORTFOLIO_ID, on_milestone("p-edge"), milestone_outlook(
        state, state.tranches["t-1"]), tranches(state)))  # fmt: skip
    rules.check_tranche_plan(registered, T1, {T1: ("p-core",)})  # as planned: fine
    with pytest.raises(RuleViolation) as refused:
        rules.check_tranche_plan(registered, T1, {T1: ("p-core", "p-edge")})
    assert "d-1" in str(refused.value) and "p-edge → milestone t-1 of programme pg-1 → p-edge" in str(refused.value)


def test_exactly_one_provider() -> None:
    neither = RegisterDependency("d-1", "p-web", None, None, "x", NEED, None, "ann", NOW)
    both = RegisterDependency("d-1", "p-web", "p-api", T1, "x", NEED, None, "ann", NOW)
    for wrong in (neither, both):
        with pytest.raises(InvalidCommand) as refused:
            rules.register(graph(), PORTFOLIO_ID, wrong, rules.Outlook("active", None))
        assert refused.value.field == "provider_project_id"


def test_the_same_need_of_a_milestone_is_registered_once_and_a_project_need_is_another() -> None:
    first = registration(*PLANNED)
    state = programme(*PLANNED)
    outlook = milestone_outlook(state, state.tranches["t-1"])
    with pytest.raises(RuleViolation):
        rules.register(graph(*first), PORTFOLIO_ID, on_milestone(dependency_id="d-2"), outlook, tranches(state))
    same_words_from_a_project = RegisterDependency(
        "d-2", "p-web", "p-core", None, "the core platform live", NEED, None, "ann", NOW
    )
    assert rules.register(graph(*first), PORTFOLIO_ID, same_words_from_a_project, outlook, tranches(state))
