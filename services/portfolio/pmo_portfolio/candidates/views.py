"""Inline views of portfolios, candidates and projects, written in each command's transaction."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from pmo_events.contracts.portfolio import CandidateRegistered, CandidateWithdrawn, InvestmentDecided, ScenarioSaved
from pmo_events.envelope import RecordedEvent, dumps, loads
from pmo_portfolio.adapters.db.tables import candidates, decisions, objectives, portfolios, projects, scenarios
from pmo_portfolio.domain import objective as objective_rules
from pmo_portfolio.domain import portfolio as portfolio_rules
from pmo_portfolio.domain import project as project_rules


async def project_portfolio(session: AsyncSession, event: RecordedEvent) -> None:
    if event.stream_type != "portfolio":
        return
    row = (
        await session.execute(select(portfolios.c.state).where(portfolios.c.portfolio_id == event.stream_id))
    ).first()
    state = (
        portfolio_rules.Portfolio.model_validate(loads(row.state)) if row else portfolio_rules.initial(event.stream_id)
    )
    state = portfolio_rules.evolve(state, event.decode())
    values = {
        "name": state.name,
        "version": event.sequence,
        "state": dumps(state.model_dump(mode="json")).decode(),
        "updated_at": event.time,
    }
    if row is None:
        await session.execute(portfolios.insert().values(portfolio_id=event.stream_id, **values))
    else:
        await session.execute(portfolios.update().where(portfolios.c.portfolio_id == event.stream_id).values(**values))


async def project_candidate(session: AsyncSession, event: RecordedEvent) -> None:
    decoded = event.decode()
    if isinstance(decoded, CandidateRegistered):
        await session.execute(candidates.delete().where(candidates.c.candidate_id == decoded.candidate_id))
        await session.execute(
            candidates.insert().values(
                candidate_id=decoded.candidate_id,
                portfolio_id=decoded.portfolio_id,
                status="awaiting_decision",
                title=decoded.title,
                submission=decoded.submission,
                registration=dumps(decoded.model_dump(mode="json")).decode(),
                updated_at=event.time,
            )
        )
    elif isinstance(decoded, InvestmentDecided):
        status = portfolio_rules.STATUS_AFTER[decoded.outcome]
        await session.execute(
            candidates.update()
            .where(candidates.c.candidate_id == decoded.candidate_id)
            .values(status=status, decision=dumps(decoded.model_dump(mode="json")).decode(), updated_at=event.time)
        )
    elif isinstance(decoded, CandidateWithdrawn):
        await session.execute(
            candidates.update()
            .where(candidates.c.candidate_id == decoded.candidate_id)
            .values(status="withdrawn", updated_at=event.time)
        )


async def project_project(session: AsyncSession, event: RecordedEvent) -> None:
    if event.stream_type != "project":
        return
    row = (await session.execute(select(projects.c.state).where(projects.c.project_id == event.stream_id))).first()
    state = project_rules.Project.model_validate(loads(row.state)) if row else project_rules.initial(event.stream_id)
    state = project_rules.evolve(state, event.decode())
    values = {
        "portfolio_id": state.portfolio_id,
        "status": state.status,
        "stage": state.stage,
        "version": event.sequence,
        "state": dumps(state.model_dump(mode="json")).decode(),
        "updated_at": event.time,
    }
    if row is None:
        await session.execute(projects.insert().values(project_id=event.stream_id, **values))
    else:
        await session.execute(projects.update().where(projects.c.project_id == event.stream_id).values(**values))


async def project_objective(session: AsyncSession, event: RecordedEvent) -> None:
    if event.stream_type != "objective":
        return
    row = (
        await session.execute(select(objectives.c.state).where(objectives.c.objective_id == event.stream_id))
    ).first()
    state = (
        objective_rules.Objective.model_validate(loads(row.state)) if row else objective_rules.initial(event.stream_id)
    )
    state = objective_rules.evolve(state, event.decode())
    values = {
        "title": state.title,
        "status": state.status,
        "weight": format(state.weight, "f"),
        "version": event.sequence,
        "state": dumps(state.model_dump(mode="json")).decode(),
        "updated_at": event.time,
    }
    if row is None:
        await session.execute(objectives.insert().values(objective_id=event.stream_id, **values))
    else:
        await session.execute(objectives.update().where(objectives.c.objective_id == event.stream_id).values(**values))


async def project_decision_log(session: AsyncSession, event: RecordedEvent) -> None:
    """The board's decisions and saved scenarios, in the order they were recorded."""
    decoded = event.decode()
    if isinstance(decoded, InvestmentDecided):
        await session.execute(
            decisions.insert().values(
                decision_id=decoded.decision_id,
                position=event.position or 0,
                portfolio_id=decoded.portfolio_id,
                candidate_id=decoded.candidate_id,
                outcome=decoded.outcome,
                decided_by=decoded.decided_by,
                decided_at=decoded.decided_at,
                payload=dumps(decoded.model_dump(mode="json")).decode(),
            )
        )
    elif isinstance(decoded, ScenarioSaved):
        await session.execute(
            scenarios.insert().values(
                scenario_id=decoded.scenario_id,
                position=event.position or 0,
                portfolio_id=decoded.portfolio_id,
                name=decoded.name,
                saved_by=decoded.saved_by,
                saved_at=decoded.saved_at,
                payload=dumps(decoded.model_dump(mode="json")).decode(),
            )
        )


PROJECTORS = [project_portfolio, project_candidate, project_project, project_objective, project_decision_log]
VIEW_TABLES = [portfolios, candidates, projects, objectives, decisions, scenarios]
