"""The dependency graph of a portfolio: what projects need from each other by when, free of cycles, and the
rule that flags a dependent *at risk* when its provider's forecast slips past the need date."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from pydantic import BaseModel

from pmo_events.contracts.base import Event
from pmo_events.contracts.portfolio import (
    AtRiskCause,
    DependencyAtRisk,
    DependencyRegistered,
    DependencyRiskCleared,
    DependencyWithdrawn,
    graph_id_of,
)
from pmo_portfolio.shared.errors import InvalidCommand, NotFound, RuleViolation


class Dependency(BaseModel):
    dependency_id: str
    dependent_project_id: str
    provider_project_id: str
    needed: str
    need_date: date
    provider_contact: str | None = None
    registered_by: str
    at_risk: bool = False
    cause: AtRiskCause | None = None
    provider_forecast_end: date | None = None
    #: Why it was withdrawn (None: it holds); a withdrawn dependency is no longer part of the graph.
    withdrawn_reason: str | None = None


class DependencyGraph(BaseModel):
    graph_id: str
    portfolio_id: str = ""
    dependencies: dict[str, Dependency] = {}

    def holding(self) -> list[Dependency]:
        """The dependencies not withdrawn: the graph proper."""
        return [d for d in self.dependencies.values() if d.withdrawn_reason is None]

    def same_as(self, dependent: str, provider: str, needed: str) -> Dependency | None:
        """The dependency that already records what `dependent` needs from `provider` (the need's words
        compared without case and surrounding spaces)."""
        words = " ".join(needed.split()).casefold()
        return next(
            (
                d
                for d in self.holding()
                if (d.dependent_project_id, d.provider_project_id) == (dependent, provider)
                and " ".join(d.needed.split()).casefold() == words
            ),
            None,
        )

    def on_provider(self, project_id: str) -> list[Dependency]:
        return [d for d in self.holding() if d.provider_project_id == project_id]


@dataclass(frozen=True)
class Outlook:
    """What the provider's delivery looks like now: its status and the end date it forecasts."""

    status: str
    forecast_end: date | None


@dataclass(frozen=True)
class RegisterDependency:
    dependency_id: str
    dependent_project_id: str
    provider_project_id: str
    needed: str
    need_date: date
    provider_contact: str | None
    registered_by: str
    registered_at: datetime


def risk(outlook: Outlook, need_date: date) -> AtRiskCause | None:
    """The at-risk rule: a cancelled or paused provider, or a forecast end after the need date."""
    if outlook.status == "cancelled":
        return "provider_cancelled"
    if outlook.status == "paused":
        return "provider_paused"
    if outlook.status != "closed" and outlook.forecast_end is not None and outlook.forecast_end > need_date:
        return "forecast_after_need_date"
    return None


def path(graph: DependencyGraph, start: str, goal: str) -> list[str] | None:
    """A chain of "depends on" from `start` to `goal`, if there is one (depth first)."""
    needs: dict[str, set[str]] = {}
    for d in graph.holding():
        needs.setdefault(d.dependent_project_id, set()).add(d.provider_project_id)
    seen: set[str] = set()
    stack: list[list[str]] = [[start]]
    while stack:
        chain = stack.pop()
        if chain[-1] == goal:
            return chain
        if chain[-1] in seen:
            continue
        seen.add(chain[-1])
        stack.extend([*chain, provider] for provider in sorted(needs.get(chain[-1], ())))
    return None


def register(graph: DependencyGraph, portfolio_id: str, command: RegisterDependency, provider: Outlook) -> list[Event]:
    """A project cannot depend on itself, nor on a project that (through others) depends on it; a dependency
    already late when it is registered is flagged at risk at once."""
    if command.dependent_project_id == command.provider_project_id:
        raise InvalidCommand("provider_project_id", "a project cannot depend on itself")
    if not command.needed.strip():
        raise InvalidCommand("needed", "say what is needed")
    twin = graph.same_as(command.dependent_project_id, command.provider_project_id, command.needed)
    if twin is not None:
        raise RuleViolation(f"dependency {twin.dependency_id} already records that need")
    cycle = path(graph, command.provider_project_id, command.dependent_project_id)
    if cycle is not None:
        chain = " → ".join([command.dependent_project_id, *cycle])
        raise RuleViolation(f"the dependency would close a cycle: {chain}")
    graph_id = graph_id_of(portfolio_id)
    registered = DependencyRegistered(graph_id=graph_id, portfolio_id=portfolio_id, **command.__dict__)
    events: list[Event] = [registered]
    cause = risk(provider, command.need_date)
    if cause is not None:
        events.append(_flagged(graph_id, portfolio_id, registered, cause, provider, None, command.registered_at))
    return events


def _flagged(
    graph_id: str,
    portfolio_id: str,
    d: Dependency | DependencyRegistered,
    cause: AtRiskCause,
    outlook: Outlook,
    event_id: str | None,
    at: datetime,
) -> DependencyAtRisk:
    return DependencyAtRisk(
        graph_id=graph_id,
        portfolio_id=portfolio_id,
        dependency_id=d.dependency_id,
        dependent_project_id=d.dependent_project_id,
        provider_project_id=d.provider_project_id,
        need_date=d.need_date,
        cause=cause,
        provider_forecast_end=outlook.forecast_end,
        caused_by_event_id=event_id,
        flagged_at=at,
    )


def reassess(
    graph: DependencyGraph, provider_project_id: str, outlook: Outlook, event_id: str | None, at: datetime
) -> list[Event]:
    """After the provider's news: flag what became at risk (or at risk for another cause), clear what recovered."""
    events: list[Event] = []
    for d in graph.on_provider(provider_project_id):
        cause = risk(outlook, d.need_date)
        if cause is not None and (not d.at_risk or cause != d.cause):
            events.append(_flagged(graph.graph_id, graph.portfolio_id, d, cause, outlook, event_id, at))
        elif cause is None and d.at_risk:
            events.append(_cleared(graph, d, outlook.forecast_end, event_id, at))
    return events


def _cleared(
    graph: DependencyGraph, d: Dependency, outlook_end: date | None, event_id: str | None, at: datetime
) -> Event:
    return DependencyRiskCleared(
        graph_id=graph.graph_id,
        portfolio_id=graph.portfolio_id,
        dependency_id=d.dependency_id,
        dependent_project_id=d.dependent_project_id,
        provider_project_id=d.provider_project_id,
        provider_forecast_end=outlook_end,
        caused_by_event_id=event_id,
        cleared_at=at,
    )


def withdraw(graph: DependencyGraph, dependency_id: str, reason: str, by: str, at: datetime) -> list[Event]:
    """A dependency that no longer holds leaves the graph with a reason; its at-risk flag is cleared first."""
    dependency = graph.dependencies.get(dependency_id)
    if dependency is None or dependency.withdrawn_reason is not None:
        raise NotFound(f"dependency {dependency_id}")
    if not reason.strip():
        raise InvalidCommand("reason", "say why the dependency is withdrawn")
    events: list[Event] = []
    if dependency.at_risk:
        events.append(_cleared(graph, dependency, dependency.provider_forecast_end, None, at))
    events.append(
        DependencyWithdrawn(
            graph_id=graph.graph_id,
            portfolio_id=graph.portfolio_id,
            dependency_id=dependency_id,
            dependent_project_id=dependency.dependent_project_id,
            provider_project_id=dependency.provider_project_id,
            reason=reason,
            withdrawn_by=by,
            withdrawn_at=at,
        )
    )
    return events


def evolve(state: DependencyGraph, event: Event) -> DependencyGraph:
    if isinstance(event, DependencyRegistered):
        dependency = Dependency(**event.model_dump(include=set(Dependency.model_fields)))
        return state.model_copy(
            update={
                "portfolio_id": event.portfolio_id,
                "dependencies": {**state.dependencies, event.dependency_id: dependency},
            }
        )
    if isinstance(event, DependencyAtRisk | DependencyRiskCleared):
        flagged = isinstance(event, DependencyAtRisk)
        changed = state.dependencies[event.dependency_id].model_copy(
            update={
                "at_risk": flagged,
                "cause": event.cause if isinstance(event, DependencyAtRisk) else None,
                "provider_forecast_end": event.provider_forecast_end,
            }
        )
        return state.model_copy(update={"dependencies": {**state.dependencies, event.dependency_id: changed}})
    if isinstance(event, DependencyWithdrawn):
        withdrawn = state.dependencies[event.dependency_id].model_copy(update={"withdrawn_reason": event.reason})
        return state.model_copy(update={"dependencies": {**state.dependencies, event.dependency_id: withdrawn}})
    return state


def initial(graph_id: str) -> DependencyGraph:
    return DependencyGraph(graph_id=graph_id)
