"""The programmes view: each programme as of its latest event, which programme each project is in, and the
measurements of project benefits that the programmes' benefits roll up."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Column, Date, Index, Integer, String, Table, Text, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from pmo_events.contracts.portfolio import BenefitRealised, ProjectJoinedProgramme
from pmo_events.envelope import RecordedEvent, loads
from pmo_events.runtime import ConcurrencyConflict
from pmo_events.runtime.schema import UtcDateTime, metadata
from pmo_portfolio.programmes import domain as programme_rules
from pmo_portfolio.shared.projecting import projects_on

programmes = Table(
    "portfolio_programmes",
    metadata,
    Column("programme_id", String(36), primary_key=True),
    Column("portfolio_id", String(36), nullable=False),
    Column("name", String(200), nullable=False),
    Column("status", String(16), nullable=False),
    Column("version", Integer, nullable=False),
    Column("state", Text, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)
Index("ix_portfolio_programmes_portfolio", programmes.c.portfolio_id)

programme_projects = Table(
    "portfolio_programme_projects",
    metadata,
    Column("project_id", String(36), primary_key=True),
    Column("programme_id", String(36), nullable=False),
)
Index("ix_portfolio_programme_projects_programme", programme_projects.c.programme_id)

#: Every realisation of a project benefit, wherever recorded (its own stream, or the project's before).
benefit_measurements = Table(
    "portfolio_benefit_measurements",
    metadata,
    Column("event_id", String(36), primary_key=True),
    Column("project_id", String(36), nullable=False),
    Column("benefit_id", String(200), nullable=False),
    Column("measured_on", Date, nullable=False),
    Column("measured_value", Text, nullable=False),
    Column("recorded_at", UtcDateTime, nullable=False),
)
Index("ix_portfolio_benefit_measurements_project", benefit_measurements.c.project_id)


@projects_on(BenefitRealised)
async def record_measurements(session: AsyncSession, event: RecordedEvent) -> None:
    decoded = event.decode()
    if not isinstance(decoded, BenefitRealised):
        return
    await session.execute(benefit_measurements.insert().values(**measurement_row(decoded, event)))


def measurement_row(realised: BenefitRealised, event: RecordedEvent) -> dict[str, Any]:
    return {
        "event_id": event.event_id,
        "project_id": realised.project_id,
        "benefit_id": realised.benefit_id,
        "measured_on": realised.measured_on,
        "measured_value": realised.measured_value,
        "recorded_at": event.time,
    }


def programme_columns(state: programme_rules.Programme, event: RecordedEvent) -> dict[str, Any]:
    """The row's columns besides its key and state after `event` (the rebuild's fold writes the same)."""
    return {
        "portfolio_id": state.portfolio_id,
        "name": state.name,
        "status": state.status,
        "version": event.sequence,
        "updated_at": event.time,
    }


@projects_on(stream_types=("programme",))
async def update_programmes(session: AsyncSession, event: RecordedEvent) -> None:
    if event.stream_type != "programme":
        return
    decoded = event.decode()
    row = (
        await session.execute(select(programmes.c.state).where(programmes.c.programme_id == event.stream_id))
    ).first()
    state = (
        programme_rules.Programme.model_validate(loads(row.state)) if row else programme_rules.initial(event.stream_id)
    )
    state = programme_rules.evolve(state, decoded)
    values = {**programme_columns(state, event), "state": state.model_dump_json()}
    if row is None:
        await session.execute(programmes.insert().values(programme_id=event.stream_id, **values))
    else:
        await session.execute(programmes.update().where(programmes.c.programme_id == event.stream_id).values(**values))
    if isinstance(decoded, ProjectJoinedProgramme):
        try:
            await session.execute(
                programme_projects.insert().values(project_id=decoded.project_id, programme_id=decoded.programme_id)
            )
        except IntegrityError as joined_elsewhere:
            # Another programme took the project in since this command read that it was in none: the race
            # is lost, and the command decided again sees where the project is (and answers 409).
            raise ConcurrencyConflict(event.stream_id, event.sequence - 1) from joined_elsewhere


PROJECTORS = [update_programmes, record_measurements]
VIEW_TABLES = [programmes, programme_projects, benefit_measurements]
