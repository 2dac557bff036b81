"""The dependencies view: each dependency of each portfolio with its at-risk flag, written in the command's
transaction (and in the transaction of the provider's news that flags or clears it)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Boolean, Column, Index, String, Table, Text, select
from sqlalchemy.ext.asyncio import AsyncSession

from pmo_events.contracts.portfolio import (
    DependencyAtRisk,
    DependencyRegistered,
    DependencyRiskCleared,
    DependencyWithdrawn,
)
from pmo_events.envelope import RecordedEvent, loads
from pmo_events.runtime.schema import UtcDateTime, metadata
from pmo_portfolio.dependencies import domain as dependency_rules
from pmo_portfolio.shared.projecting import projects_on

dependencies = Table(
    "portfolio_dependencies",
    metadata,
    Column("dependency_id", String(36), primary_key=True),
    Column("portfolio_id", String(36), nullable=False),
    Column("dependent_project_id", String(64), nullable=False),
    #: None when the provider is a programme milestone (in `state`).
    Column("provider_project_id", String(64), nullable=True),
    Column("at_risk", Boolean, nullable=False),
    Column("state", Text, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)
Index("ix_portfolio_dependencies_portfolio", dependencies.c.portfolio_id)


@projects_on(stream_types=("dependency_graph",))
async def update_dependencies(session: AsyncSession, event: RecordedEvent) -> None:
    if event.stream_type != "dependency_graph":
        return
    decoded = event.decode()
    if isinstance(decoded, DependencyRegistered):
        await session.execute(dependencies.insert().values(**registered_row(decoded, event)))
        return
    if isinstance(decoded, DependencyWithdrawn):
        # the view holds the graph as it stands: a withdrawn dependency leaves it (its stream keeps it)
        await session.execute(dependencies.delete().where(dependencies.c.dependency_id == decoded.dependency_id))
        return
    if not isinstance(decoded, DependencyAtRisk | DependencyRiskCleared):
        return
    row = (
        await session.execute(select(dependencies.c.state).where(dependencies.c.dependency_id == decoded.dependency_id))
    ).first()
    if row is None:
        return
    changed = risk_changed(dependency_rules.Dependency.model_validate(loads(row.state)), decoded, event)
    await session.execute(
        dependencies.update()
        .where(dependencies.c.dependency_id == decoded.dependency_id)
        .values(at_risk=changed.at_risk, state=changed.model_dump_json(), updated_at=event.time)
    )


def registered_row(registered: DependencyRegistered, event: RecordedEvent) -> dict[str, Any]:
    """The row a registration inserts (the rebuild's fold writes the same)."""
    state = dependency_rules.Dependency(**registered.model_dump(include=set(dependency_rules.Dependency.model_fields)))
    return {
        "dependency_id": registered.dependency_id,
        "portfolio_id": registered.portfolio_id,
        "dependent_project_id": registered.dependent_project_id,
        "provider_project_id": registered.provider_project_id,
        "at_risk": False,
        "state": state.model_dump_json(),
        "updated_at": event.time,
    }


def risk_changed(
    dependency: dependency_rules.Dependency, news: DependencyAtRisk | DependencyRiskCleared, event: RecordedEvent
) -> dependency_rules.Dependency:
    """The dependency flagged or cleared by `news`, as its graph's fold has it."""
    graph = dependency_rules.DependencyGraph(graph_id=event.stream_id, dependencies={news.dependency_id: dependency})
    return dependency_rules.evolve(graph, news).dependencies[news.dependency_id]


PROJECTORS = [update_dependencies]
VIEW_TABLES = [dependencies]
