"""Interdependencies: given events, when a command or the provider's news, then events (cycles, at risk)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from pmo_devstack import testing
from pmo_events.contracts.base import Event
from pmo_events.contracts.common import Timeline
from pmo_events.contracts.portfolio import (
    ChangeRequestDecided,
    ChangeRequested,
    DependencyAtRisk,
    DependencyRegistered,
    DependencyRiskCleared,
    DependencyWithdrawn,
    ProjectCancelled,
    ProjectPaused,
    ProjectResumed,
)
from pmo_portfolio.dependencies import domain as rules
from pmo_portfolio.dependencies.commands import GRAPH, outlook
from pmo_portfolio.dependencies.domain import DependencyGraph, Outlook, RegisterDependency
from pmo_portfolio.shared.errors import InvalidCommand, NotFound, RuleViolation

from .delivery_support import initiated, project
from .support import NOW, PORTFOLIO_ID

GRAPH_ID = f"dependencies-{PORTFOLIO_ID}"
NEED = date(2027, 6, 30)
ON_TIME = Outlook(status="active", forecast_end=date(2027, 6, 1))
API = rules.project_node("p-api")


def given(*events: Event) -> DependencyGraph:
    return testing.given(GRAPH, *events, stream_id=GRAPH_ID)


def command(dependent: str = "p-web", provider: str = "p-api", dependency_id: str = "d-1") -> RegisterDependency:
    return RegisterDependency(dependency_id, dependent, provider, None, "the customer API", NEED, "pam", "ann", NOW)


def registered(dependent: str = "p-web", provider: str = "p-api", dependency_id: str = "d-1") -> DependencyRegistered:
    [event] = rules.register(given(), PORTFOLIO_ID, command(dependent, provider, dependency_id), ON_TIME)
    assert isinstance(event, DependencyRegistered)
    return event


def test_a_dependency_records_what_is_needed_by_when_from_whom() -> None:
    event = registered()
    assert (event.graph_id, event.dependent_project_id, event.provider_project_id) == (GRAPH_ID, "p-web", "p-api")
    assert (event.needed, event.need_date, event.provider_contact) == ("the customer API", NEED, "pam")
    assert not given(event).dependencies["d-1"].at_risk


def test_cycles_are_refused_however_long() -> None:
    graph = given(registered("a", "b", "d-1"), registered("b", "c", "d-2"))
    with pytest.raises(RuleViolation) as refused:
        rules.register(graph, PORTFOLIO_ID, command("c", "a", "d-3"), ON_TIME)
    assert "c → a → b → c" in str(refused.value)
    with pytest.raises(InvalidCommand) as itself:
        rules.register(graph, PORTFOLIO_ID, command("a", "a", "d-3"), ON_TIME)
    assert itself.value.field == "provider_project_id"
    assert rules.register(graph, PORTFOLIO_ID, command("a", "c", "d-3"), ON_TIME)  # a diamond is no cycle


def test_the_same_need_from_the_same_provider_is_registered_once() -> None:
    graph = given(registered())
    with pytest.raises(RuleViolation) as refused:
        rules.register(graph, PORTFOLIO_ID, command(dependency_id="d-2"), ON_TIME)
    assert "d-1" in str(refused.value)
    other = RegisterDependency("d-2", "p-web", "p-api", None, "test data", NEED, None, "ann", NOW)
    assert rules.register(graph, PORTFOLIO_ID, other, ON_TIME)  # another need from the same provider
    assert rules.register(graph, PORTFOLIO_ID, command("p-app", "p-api", "d-2"), ON_TIME)  # another dependent


def test_a_withdrawn_dependency_leaves_the_graph_with_its_flag_cleared() -> None:
    late = Outlook(status="active", forecast_end=date(2027, 9, 30))
    flagged = rules.register(given(), PORTFOLIO_ID, command(), late)
    graph = given(*flagged)
    with pytest.raises(InvalidCommand) as blank:
        rules.withdraw(graph, "d-1", " ", "ann", NOW)
    assert blank.value.field == "reason"
    cleared, withdrawn = rules.withdraw(graph, "d-1", "not needed", "ann", NOW)
    assert isinstance(cleared, DependencyRiskCleared) and isinstance(withdrawn, DependencyWithdrawn)
    after = given(*flagged, cleared, withdrawn)
    assert after.holding() == [] and not after.dependencies["d-1"].at_risk
    assert rules.reassess(after, API, late, None, NOW) == []  # the provider's news flags nothing any more
    assert rules.register(after, PORTFOLIO_ID, command(dependency_id="d-2"), ON_TIME)  # the need again: fine
    assert rules.register(after, PORTFOLIO_ID, command("p-api", "p-web", "d-2"), ON_TIME)  # no cycle through it
    with pytest.raises(NotFound):
        rules.withdraw(after, "d-1", "again", "ann", NOW)
    on_time = given(registered())
    [only] = rules.withdraw(on_time, "d-1", "not needed", "ann", NOW)
    assert isinstance(only, DependencyWithdrawn)


def test_a_dependency_already_late_is_at_risk_from_the_start() -> None:
    late = Outlook(status="active", forecast_end=date(2027, 7, 1))
    _, flagged = rules.register(given(), PORTFOLIO_ID, command(), late)
    assert isinstance(flagged, DependencyAtRisk)
    assert (flagged.cause, flagged.provider_forecast_end, flagged.caused_by_event_id) == (
        "forecast_after_need_date",
        date(2027, 7, 1),
        None,
    )


@pytest.mark.parametrize(
    ("news", "cause"),
    [
        (Outlook(status="active", forecast_end=date(2027, 7, 1)), "forecast_after_need_date"),
        (Outlook(status="paused", forecast_end=date(2027, 6, 1)), "provider_paused"),
        (Outlook(status="cancelled", forecast_end=date(2027, 6, 1)), "provider_cancelled"),
    ],
)
def test_each_cause_flags_the_dependent_at_risk_and_recovery_clears_it(news: Outlook, cause: str) -> None:
    graph = given(registered())
    [flagged] = rules.reassess(graph, API, news, "e-1", NOW)
    assert isinstance(flagged, DependencyAtRisk)
    assert (flagged.cause, flagged.dependent_project_id, flagged.caused_by_event_id) == (cause, "p-web", "e-1")
    at_risk = given(registered(), flagged)
    assert at_risk.dependencies["d-1"].at_risk and at_risk.dependencies["d-1"].cause == cause
    assert rules.reassess(at_risk, API, news, "e-2", NOW) == []  # the same news flags once
    [cleared] = rules.reassess(at_risk, API, ON_TIME, "e-3", NOW)
    assert isinstance(cleared, DependencyRiskCleared) and cleared.provider_forecast_end == date(2027, 6, 1)
    assert not given(registered(), flagged, cleared).dependencies["d-1"].at_risk


def test_a_new_cause_is_published_and_other_providers_news_changes_nothing() -> None:
    late = Outlook(status="active", forecast_end=date(2027, 7, 1))
    [flagged] = rules.reassess(given(registered()), API, late, "e-1", NOW)
    at_risk = given(registered(), flagged)
    [paused] = rules.reassess(at_risk, API, Outlook(status="paused", forecast_end=date(2027, 7, 1)), "e-2", NOW)
    assert isinstance(paused, DependencyAtRisk) and paused.cause == "provider_paused"
    assert rules.reassess(at_risk, rules.project_node("p-web"), late, "e-3", NOW) == []


def test_the_forecast_follows_the_providers_schedule_change_report_pause_and_resumption() -> None:
    """The project's outlook, as the at-risk rule reads it, after each kind of news."""
    start = initiated(timeline=Timeline(start=date(2027, 1, 1), end=date(2027, 6, 1)))
    assert outlook(project(start=start)) == ON_TIME
    moved = ChangeRequestDecided(
        portfolio_id=PORTFOLIO_ID,
        project_id="c-1",
        change_request_id="cr-1",
        kind="schedule",
        outcome="approve",
        rationale="vendor late",
        decided_by="bea",
        decided_at=NOW,
        new_end=date(2027, 9, 30),
    )
    asked = ChangeRequested(
        portfolio_id=PORTFOLIO_ID,
        project_id="c-1",
        change_request_id="cr-1",
        kind="schedule",
        new_end=date(2027, 9, 30),
        rationale="vendor late",
        requested_by="pam",
        requested_at=NOW,
    )
    slipped = project(asked, moved, start=start)
    assert outlook(slipped).forecast_end == date(2027, 9, 30)
    assert rules.risk(outlook(slipped), NEED) == "forecast_after_need_date"
    at = datetime(2027, 3, 1, tzinfo=UTC)
    pause = ProjectPaused(portfolio_id=PORTFOLIO_ID, project_id="c-1", rationale="r", paused_by="bea", paused_at=at)
    assert rules.risk(outlook(project(asked, moved, pause, start=start)), NEED) == "provider_paused"
    resumed = ProjectResumed(
        portfolio_id=PORTFOLIO_ID, project_id="c-1", rationale="r", resumed_by="bea", resumed_at=at
    )
    assert outlook(project(pause, resumed, start=start)) == ON_TIME
    cancelled = ProjectCancelled(portfolio_id=PORTFOLIO_ID, project_id="c-1", reason="r", cancelled_by="bea")
    assert rules.risk(outlook(project(cancelled, start=start)), NEED) == "provider_cancelled"
