"""Dependency commands: register one (refusing cycles), and the policy that flags or clears the at-risk state
whenever the provider's forecast moves, in the transaction of the provider's own event."""

from __future__ import annotations

from datetime import datetime

from pmo_events.contracts.base import Event
from pmo_events.contracts.portfolio import (
    ChangeRequestDecided,
    ProjectCancelled,
    ProjectClosed,
    ProjectInitiated,
    ProjectPaused,
    ProjectResumed,
    StatusReported,
    StatusReportWithdrawn,
    graph_id_of,
)
from pmo_events.envelope import RecordedEvent
from pmo_events.runtime import AggregateType, UnitOfWork, fold
from pmo_portfolio import delivery, funding
from pmo_portfolio.dependencies import domain as dependency_rules
from pmo_portfolio.dependencies.domain import Dependency, DependencyGraph, Outlook, RegisterDependency
from pmo_portfolio.shared.errors import InvalidCommand, NotFound

GRAPH = AggregateType("dependency_graph", dependency_rules.initial, dependency_rules.evolve, DependencyGraph)
#: The provider's events that can move its forecast: a schedule change, a report, a pause, a resumption,
#: a cancellation, a closure (a withdrawn report changes nothing the forecast follows, but is checked).
FORECAST_NEWS = frozenset(
    cls.type_name()
    for cls in (
        ProjectInitiated,
        ChangeRequestDecided,
        StatusReported,
        StatusReportWithdrawn,
        ProjectPaused,
        ProjectResumed,
        ProjectCancelled,
        ProjectClosed,
    )
)


def outlook(project: delivery.Project) -> Outlook:
    return Outlook(status=project.status, forecast_end=project.forecast())


async def _project_in(uow: UnitOfWork, portfolio_id: str, project_id: str, field: str) -> delivery.Project:
    project = (await uow.load(delivery.PROJECT, project_id)).state
    if project.status == "none" or project.portfolio_id != portfolio_id:
        raise InvalidCommand(field, f"no project {project_id} in portfolio {portfolio_id}")
    return project


async def register_dependency(uow: UnitOfWork, portfolio_id: str, command: RegisterDependency) -> list[Event]:
    portfolio = await uow.load(funding.PORTFOLIO, portfolio_id)
    if not portfolio.state.exists:
        raise NotFound(f"portfolio {portfolio_id}")
    await _project_in(uow, portfolio_id, command.dependent_project_id, "dependent_project_id")
    provider = await _project_in(uow, portfolio_id, command.provider_project_id, "provider_project_id")
    graph_id = graph_id_of(portfolio_id)
    loaded = await uow.load(GRAPH, graph_id)
    new_events = dependency_rules.register(loaded.state, portfolio_id, command, outlook(provider))
    after = fold(GRAPH, loaded.state, new_events)
    await uow.append(GRAPH, graph_id, loaded.version, new_events, after)
    return new_events


async def withdraw_dependency(
    uow: UnitOfWork, portfolio_id: str, dependency_id: str, reason: str, by: str, at: datetime
) -> tuple[Dependency, int]:
    """The dependency as withdrawn, and the graph's version after it."""
    graph_id = graph_id_of(portfolio_id)
    loaded = await uow.load(GRAPH, graph_id)
    new_events = dependency_rules.withdraw(loaded.state, dependency_id, reason, by, at)
    after = fold(GRAPH, loaded.state, new_events)
    await uow.append(GRAPH, graph_id, loaded.version, new_events, after)
    return after.dependencies[dependency_id], loaded.version + len(new_events)


async def reassess_dependencies(uow: UnitOfWork, recorded: RecordedEvent) -> None:
    """Policy: after any news that can move a project's forecast, the dependencies on it are flagged at risk
    (`DependencyAtRisk`, with the cause) or cleared (`DependencyRiskCleared`) where that changed."""
    if recorded.stream_type != "project" or recorded.type not in FORECAST_NEWS:
        return
    project = (await uow.load(delivery.PROJECT, recorded.stream_id)).state
    graph_id = graph_id_of(project.portfolio_id)
    loaded = await uow.load(GRAPH, graph_id)
    if not loaded.state.on_provider(project.project_id):
        return
    new_events = dependency_rules.reassess(
        loaded.state, project.project_id, outlook(project), recorded.event_id, recorded.time
    )
    if new_events:
        after = fold(GRAPH, loaded.state, new_events)
        await uow.append(GRAPH, graph_id, loaded.version, new_events, after)
