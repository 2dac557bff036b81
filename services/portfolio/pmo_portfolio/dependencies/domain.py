"""The dependency graph of a portfolio: what projects need from each other (or from a programme milestone, the
end of a programme's tranche) by when, free of cycles, and the rule that flags a dependent *at risk* when its
provider's forecast slips past the need date.

A milestone depends on every project of its tranche: a project of the tranche (or one that leads to it) that
needs the milestone closes a cycle."""

from __future__ import annotations

from collections.abc import Mapping
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
    ProgrammeMilestone,
    graph_id_of,
)
from pmo_portfolio.shared.errors import InvalidCommand, NotFound, RuleViolation

#: A node of the graph: ("project", project_id) or ("milestone", programme_id, tranche_id).
Node = tuple[str, ...]


def project_node(project_id: str) -> Node:
    return ("project", project_id)


def milestone_node(milestone: ProgrammeMilestone) -> Node:
    return ("milestone", milestone.programme_id, milestone.tranche_id)


def provider_node(provider_project_id: str | None, provider_milestone: ProgrammeMilestone | None) -> Node:
    if provider_milestone is not None:
        return milestone_node(provider_milestone)
    if provider_project_id is None:
        raise InvalidCommand("provider_project_id", "name exactly one provider: a project or a programme milestone")
    return project_node(provider_project_id)


def describe(node: Node) -> str:
    """A node in a refusal's words: a project's id, or "milestone <tranche> of programme <programme>"."""
    return node[1] if node[0] == "project" else f"milestone {node[2]} of programme {node[1]}"


class Dependency(BaseModel):
    dependency_id: str
    dependent_project_id: str
    #: The provider: a project, or a programme milestone (exactly one of the two).
    provider_project_id: str | None = None
    provider_milestone: ProgrammeMilestone | None = None
    needed: str
    need_date: date
    provider_contact: str | None = None
    registered_by: str
    at_risk: bool = False
    cause: AtRiskCause | None = None
    provider_forecast_end: date | None = None
    #: Why it was withdrawn (None: it holds); a withdrawn dependency is no longer part of the graph.
    withdrawn_reason: str | None = None

    @property
    def provider(self) -> Node:
        return provider_node(self.provider_project_id, self.provider_milestone)


class DependencyGraph(BaseModel):
    graph_id: str
    portfolio_id: str = ""
    dependencies: dict[str, Dependency] = {}

    def holding(self) -> list[Dependency]:
        """The dependencies not withdrawn: the graph proper."""
        return [d for d in self.dependencies.values() if d.withdrawn_reason is None]

    def same_as(self, dependent: str, provider: Node, needed: str) -> Dependency | None:
        """The dependency that already records what `dependent` needs from `provider` (the need's words
        compared without case and surrounding spaces)."""
        words = " ".join(needed.split()).casefold()
        return next(
            (
                d
                for d in self.holding()
                if (d.dependent_project_id, d.provider) == (dependent, provider)
                and " ".join(d.needed.split()).casefold() == words
            ),
            None,
        )

    def on_provider(self, provider: Node) -> list[Dependency]:
        return [d for d in self.holding() if d.provider == provider]

    def milestones(self, programme_id: str | None = None) -> set[ProgrammeMilestone]:
        """The programme milestones the graph's dependencies wait for (of one programme, when named)."""
        return {
            d.provider_milestone
            for d in self.holding()
            if d.provider_milestone is not None and programme_id in (None, d.provider_milestone.programme_id)
        }


@dataclass(frozen=True)
class Outlook:
    """What the provider's delivery looks like now: its status and the end date it forecasts."""

    status: str
    forecast_end: date | None


#: What each milestone waits for: the projects of its tranche, by milestone.
Tranches = Mapping[ProgrammeMilestone, tuple[str, ...]]


def milestone_status(*, tranche_status: str, decision: str | None, programme_closed: bool) -> str:
    """A milestone is `met` by a `continue` review (as a closed project has delivered), `cancelled` when its
    programme closed before, else as its tranche stands (`open`, or `re_plan` until planned again)."""
    if decision == "continue":
        return "met"
    return "cancelled" if programme_closed else tranche_status


def milestone_outlook(*, tranche_end: date, status: str) -> Outlook:
    """A milestone forecasts its tranche's end; met, it has delivered; cancelled, it never will."""
    as_project = {"met": "closed", "cancelled": "cancelled"}.get(status, "active")
    return Outlook(status=as_project, forecast_end=tranche_end)


@dataclass(frozen=True)
class RegisterDependency:
    dependency_id: str
    dependent_project_id: str
    provider_project_id: str | None
    provider_milestone: ProgrammeMilestone | None
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


def path(graph: DependencyGraph, start: Node, goal: Node, tranches: Tranches) -> list[Node] | None:
    """A chain of "depends on" from `start` to `goal`, if there is one (depth first); a milestone depends on
    the projects of its tranche."""
    needs: dict[Node, set[Node]] = {}
    for d in graph.holding():
        needs.setdefault(project_node(d.dependent_project_id), set()).add(d.provider)
    for milestone, project_ids in tranches.items():
        needs.setdefault(milestone_node(milestone), set()).update(project_node(p) for p in project_ids)
    seen: set[Node] = set()
    stack: list[list[Node]] = [[start]]
    while stack:
        chain = stack.pop()
        if chain[-1] == goal:
            return chain
        if chain[-1] in seen:
            continue
        seen.add(chain[-1])
        stack.extend([*chain, provider] for provider in sorted(needs.get(chain[-1], ())))
    return None


def register(
    graph: DependencyGraph,
    portfolio_id: str,
    command: RegisterDependency,
    provider: Outlook,
    tranches: Tranches | None = None,
) -> list[Event]:
    """A project cannot depend on itself, nor on a project or milestone that (through others, or through the
    tranche a milestone ends) depends on it; a dependency already late when it is registered is flagged at risk
    at once. `tranches`: the projects of each milestone's tranche (the graph's and the new one's)."""
    if (command.provider_project_id is None) == (command.provider_milestone is None):
        raise InvalidCommand("provider_project_id", "name exactly one provider: a project or a programme milestone")
    if command.dependent_project_id == command.provider_project_id:
        raise InvalidCommand("provider_project_id", "a project cannot depend on itself")
    if not command.needed.strip():
        raise InvalidCommand("needed", "say what is needed")
    provider_at = provider_node(command.provider_project_id, command.provider_milestone)
    twin = graph.same_as(command.dependent_project_id, provider_at, command.needed)
    if twin is not None:
        raise RuleViolation(f"dependency {twin.dependency_id} already records that need")
    dependent_at = project_node(command.dependent_project_id)
    cycle = path(graph, provider_at, dependent_at, tranches or {})
    if cycle is not None:
        chain = " → ".join(describe(node) for node in [dependent_at, *cycle])
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
        provider_milestone=d.provider_milestone,
        need_date=d.need_date,
        cause=cause,
        provider_forecast_end=outlook.forecast_end,
        caused_by_event_id=event_id,
        flagged_at=at,
    )


def reassess(
    graph: DependencyGraph, provider: Node, outlook: Outlook, event_id: str | None, at: datetime
) -> list[Event]:
    """After the provider's news: flag what became at risk (or at risk for another cause), clear what recovered."""
    events: list[Event] = []
    for d in graph.on_provider(provider):
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
        provider_milestone=d.provider_milestone,
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
            provider_milestone=dependency.provider_milestone,
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


def check_tranche_plan(graph: DependencyGraph, milestone: ProgrammeMilestone, tranches: Tranches) -> None:
    """A tranche (re-)planned with a project that needs the tranche's own milestone (itself or through others)
    would close a cycle: refused. `tranches` holds the tranche's projects as planned now."""
    for dependency in graph.on_provider(milestone_node(milestone)):
        dependent_at = project_node(dependency.dependent_project_id)
        cycle = path(graph, milestone_node(milestone), dependent_at, tranches)
        if cycle is not None:
            chain = " → ".join(describe(node) for node in [dependent_at, *cycle])
            raise RuleViolation(
                f"dependency {dependency.dependency_id} needs this milestone, so the tranche would close a cycle: "
                f"{chain}; withdraw the dependency or leave the project out of the tranche"
            )


def initial(graph_id: str) -> DependencyGraph:
    return DependencyGraph(graph_id=graph_id)
