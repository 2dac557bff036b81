"""Dependency commands: register one (refusing cycles), and the policies that flag or clear the at-risk state
whenever the provider's forecast moves (a project's news, or a programme's tranche planned or reviewed), in
the transaction of the provider's own event, and refuse a tranche plan that would close a cycle."""

from __future__ import annotations

from datetime import datetime

from pmo_events.contracts.base import Event
from pmo_events.contracts.portfolio import (
    ChangeRequestDecided,
    ProgrammeMilestone,
    ProjectCancelled,
    ProjectClosed,
    ProjectInitiated,
    ProjectPaused,
    ProjectResumed,
    StatusReported,
    StatusReportWithdrawn,
    TranchePlanned,
    TrancheReviewed,
    graph_id_of,
)
from pmo_events.envelope import RecordedEvent
from pmo_events.runtime import AggregateType, UnitOfWork, fold, on_prepared, reacts_to
from pmo_portfolio import delivery, funding, programmes
from pmo_portfolio.dependencies import domain as dependency_rules
from pmo_portfolio.dependencies.domain import (
    Dependency,
    DependencyGraph,
    Outlook,
    RegisterDependency,
    Tranches,
    milestone_node,
    project_node,
)
from pmo_portfolio.shared.errors import InvalidCommand, NotFound

GRAPH = AggregateType("dependency_graph", dependency_rules.initial, dependency_rules.evolve, DependencyGraph, keep=True)


def graph_of(portfolio_id: str) -> tuple[AggregateType[DependencyGraph], str]:
    """The portfolio's dependency graph (for `load_project_together`)."""
    return GRAPH, graph_id_of(portfolio_id)


#: The provider's events that can move its forecast: a schedule change, a report, a pause, a resumption,
#: a cancellation, a closure (a withdrawn report changes nothing the forecast follows, but is checked).
FORECAST_NEWS_TYPES = (
    ProjectInitiated,
    ChangeRequestDecided,
    StatusReported,
    StatusReportWithdrawn,
    ProjectPaused,
    ProjectResumed,
    ProjectCancelled,
    ProjectClosed,
)
FORECAST_NEWS = frozenset(cls.type_name() for cls in FORECAST_NEWS_TYPES)


#: The programme's events that move or settle its milestones: a tranche planned (again), a tranche reviewed
#: (`continue` meets its milestone, `close_programme` cancels the ones not met).
MILESTONE_NEWS_TYPES = (TranchePlanned, TrancheReviewed)
MILESTONE_NEWS = frozenset(cls.type_name() for cls in MILESTONE_NEWS_TYPES)


def outlook(project: delivery.Project) -> Outlook:
    return Outlook(status=project.status, forecast_end=project.forecast())


def milestone_status(programme: programmes.Programme, tranche: programmes.Tranche) -> str:
    return dependency_rules.milestone_status(
        tranche_status=tranche.status, decision=tranche.decision, programme_closed=programme.status == "closed"
    )


def milestone_outlook(programme: programmes.Programme, tranche: programmes.Tranche) -> Outlook:
    return dependency_rules.milestone_outlook(tranche_end=tranche.end, status=milestone_status(programme, tranche))


async def _tranche_of(
    uow: UnitOfWork, portfolio_id: str, milestone: ProgrammeMilestone
) -> tuple[programmes.Programme, programmes.Tranche]:
    programme = (await uow.load(programmes.PROGRAMME, milestone.programme_id)).state
    if not programme.exists or programme.portfolio_id != portfolio_id:
        raise InvalidCommand(
            "provider_milestone.programme_id", f"no programme {milestone.programme_id} in portfolio {portfolio_id}"
        )
    tranche = programme.tranches.get(milestone.tranche_id)
    if tranche is None:
        raise InvalidCommand(
            "provider_milestone.tranche_id", f"no tranche {milestone.tranche_id} in programme {milestone.programme_id}"
        )
    return programme, tranche


async def _tranches(uow: UnitOfWork, milestones: set[ProgrammeMilestone]) -> dict[ProgrammeMilestone, tuple[str, ...]]:
    """What each milestone waits for: the projects of its tranche as planned now."""
    waiting: dict[ProgrammeMilestone, tuple[str, ...]] = {}
    for programme_id in sorted({m.programme_id for m in milestones}):
        programme = (await uow.load(programmes.PROGRAMME, programme_id)).state
        for m in milestones:
            if m.programme_id == programme_id and m.tranche_id in programme.tranches:
                waiting[m] = programme.tranches[m.tranche_id].project_ids
    return waiting


async def _project_in(uow: UnitOfWork, portfolio_id: str, project_id: str, field: str) -> delivery.Project:
    project = (await uow.load(delivery.PROJECT, project_id)).state
    if project.status == "none" or project.portfolio_id != portfolio_id:
        raise InvalidCommand(field, f"no project {project_id} in portfolio {portfolio_id}")
    return project


async def register_dependency(uow: UnitOfWork, portfolio_id: str, command: RegisterDependency) -> list[Event]:
    if command.provider_project_id is not None and command.provider_milestone is not None:
        raise InvalidCommand("provider_milestone", "name a provider project or a programme milestone, not both")
    # Under the portfolio's lock, as a tranche plan's cycle check is: the two write different streams (the
    # graph, the programme), so without it each could check the other as it stood and close a cycle together.
    await funding.lock_portfolio(uow.session, portfolio_id)
    portfolio = await uow.load(funding.PORTFOLIO, portfolio_id)
    if not portfolio.state.exists:
        raise NotFound(f"portfolio {portfolio_id}")
    await _project_in(uow, portfolio_id, command.dependent_project_id, "dependent_project_id")
    if command.provider_milestone is not None:
        provider = milestone_outlook(*await _tranche_of(uow, portfolio_id, command.provider_milestone))
    elif command.provider_project_id is not None:
        provider = outlook(await _project_in(uow, portfolio_id, command.provider_project_id, "provider_project_id"))
    else:
        raise InvalidCommand("provider_project_id", "name the provider: a project or a programme milestone")
    graph_id = graph_id_of(portfolio_id)
    loaded = await uow.load(GRAPH, graph_id)
    milestones = loaded.state.milestones() | ({command.provider_milestone} if command.provider_milestone else set())
    tranches = await _tranches(uow, milestones)
    new_events = dependency_rules.register(loaded.state, portfolio_id, command, provider, tranches)
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


# It reads only aggregates (the project, the graph): it may run on a report before the report is written.
@on_prepared
@reacts_to(*FORECAST_NEWS_TYPES)
async def reassess_dependencies(uow: UnitOfWork, recorded: RecordedEvent) -> None:
    """Policy: after any news that can move a project's forecast, the dependencies on it are flagged at risk
    (`DependencyAtRisk`, with the cause) or cleared (`DependencyRiskCleared`) where that changed."""
    if recorded.stream_type != "project" or recorded.type not in FORECAST_NEWS:
        return
    project = (await uow.load(delivery.PROJECT, recorded.stream_id)).state
    graph_id = graph_id_of(project.portfolio_id)
    loaded = await uow.load(GRAPH, graph_id)
    if not loaded.state.on_provider(project_node(project.project_id)):
        return
    new_events = dependency_rules.reassess(
        loaded.state, project_node(project.project_id), outlook(project), recorded.event_id, recorded.time
    )
    if new_events:
        after = fold(GRAPH, loaded.state, new_events)
        await uow.append(GRAPH, graph_id, loaded.version, new_events, after)


@reacts_to(*MILESTONE_NEWS_TYPES)
async def reassess_milestone_dependencies(uow: UnitOfWork, recorded: RecordedEvent) -> None:
    """Policy: after a tranche is planned (again) or reviewed, the dependencies on the programme's milestones
    are flagged at risk or cleared where that changed; a tranche planned with a project that needs the
    tranche's own milestone (itself or through others) is refused, as a cycle registered directly is."""
    if recorded.stream_type != "programme" or recorded.type not in MILESTONE_NEWS:
        return
    programme = (await uow.load(programmes.PROGRAMME, recorded.stream_id)).state
    planned = recorded.decode()
    if isinstance(planned, TranchePlanned):
        # The cycle check reads the graph under the portfolio's lock, as registering a dependency does: one
        # waits for the other to commit and then sees what it recorded (PostgreSQL; SQLite writes one at a time).
        await funding.lock_portfolio(uow.session, programme.portfolio_id)
    graph_id = graph_id_of(programme.portfolio_id)
    loaded = await uow.load(GRAPH, graph_id)
    milestones = loaded.state.milestones(programme.programme_id)
    if not milestones:
        return
    if isinstance(planned, TranchePlanned):
        milestone = ProgrammeMilestone(programme_id=programme.programme_id, tranche_id=planned.tranche_id)
        tranches: Tranches = await _tranches(uow, loaded.state.milestones())
        dependency_rules.check_tranche_plan(loaded.state, milestone, tranches)
    new_events: list[Event] = []
    state = loaded.state
    for milestone in sorted(milestones, key=lambda m: m.tranche_id):
        tranche = programme.tranches.get(milestone.tranche_id)
        if tranche is None:
            continue
        news = dependency_rules.reassess(
            state, milestone_node(milestone), milestone_outlook(programme, tranche), recorded.event_id, recorded.time
        )
        state = fold(GRAPH, state, news)
        new_events.extend(news)
    if new_events:
        await uow.append(GRAPH, graph_id, loaded.version, new_events, state)
