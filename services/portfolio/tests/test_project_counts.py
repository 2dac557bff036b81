"""The projects view's count columns (`lessons`, `realisations`: what a status report reads and guards) hold what
the row's state counts, whatever order lessons, realisations and reports come in; portfolio_0012 fills them from a
database's existing rows and its downgrade takes them away."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import pytest
from alembic import command
from sqlalchemy import inspect, select, text

from pmo_devstack.testing import RunningService
from pmo_events.runtime import Database
from pmo_events.runtime.migrate import alembic_config
from pmo_portfolio.bootstrap import PORTFOLIO
from pmo_portfolio.delivery import views

from .test_api_delivery import approved_project, report
from .test_rebuild import every_row, rebuild

pytestmark = pytest.mark.integration


async def _disagreeing(service: RunningService) -> list[tuple[str, int, int, int, int]]:
    """The rows whose count columns and state's counts differ (project, columns', state's)."""
    table = views.projects
    async with service.runtime.db.sessions() as session:
        rows = (
            await session.execute(select(table.c.project_id, table.c.lessons, table.c.realisations, table.c.state))
        ).all()
    assert rows
    held = [(p, lessons, realised, json.loads(state)) for p, lessons, realised, state in rows]
    return [
        (p, lo, r, s["lessons"], s["realisations"])
        for p, lo, r, s in held
        if (lo, r) != (s["lessons"], s["realisations"])
    ]


async def test_the_count_columns_agree_with_the_state_as_lessons_realisations_and_reports_interleave(
    service: RunningService,
) -> None:
    await approved_project(service, "p-mixed")
    await approved_project(service, "p-other")
    yesterday = (datetime.now(UTC).date() - timedelta(days=1)).isoformat()
    async with service.client("pam", "project_manager") as pam:

        async def lesson(project: str, n: int) -> int:
            body = {"title": f"Lesson {n}", "description": "d", "category": "delivery"}
            return (await pam.post(f"/projects/{project}/lessons", json=body)).status_code

        async def realised(project: str, value: str) -> int:
            measured = {"measured_value": value, "measured_on": yesterday}
            return (await pam.post(f"/projects/{project}/benefits/%231/realisations", json=measured)).status_code

        async def reported(project: str, percent: str) -> int:
            return (await pam.post(f"/projects/{project}/status-reports", json=report(percent, "10"))).status_code

        assert await reported("p-mixed", "10") == 201
        assert await lesson("p-mixed", 1) == 201
        assert await reported("p-mixed", "20") == 201
        assert await realised("p-mixed", "100") == 201
        assert await reported("p-mixed", "30") == 201
        assert await _disagreeing(service) == []
        for turn in range(3):  # at once: a report may lose its race to a count (409) and is decided again
            statuses = await asyncio.gather(
                reported("p-mixed", str(40 + turn)),
                lesson("p-mixed", 10 + turn),
                realised("p-mixed", str(200 + turn)),
                reported("p-other", str(40 + turn)),
                lesson("p-other", 20 + turn),
                reported("p-mixed", str(50 + turn)),
            )
            assert set(statuses) <= {201, 409}, statuses
            assert await _disagreeing(service) == []
        read = (await pam.get("/projects/p-mixed")).json()
    assert (read["lessons"], read["realisations"]) == (4, 4)
    live = await every_row(service)
    await rebuild(service)
    assert await every_row(service) == live  # the rebuild writes the same columns
    assert await _disagreeing(service) == []


async def test_portfolio_0012_fills_the_count_columns_from_the_rows_and_its_downgrade_drops_them(
    database_url: str,
) -> None:
    config = alembic_config(database_url, PORTFOLIO.migrations, PORTFOLIO.metadata)
    await asyncio.to_thread(command.upgrade, config, "portfolio_0011")
    insert = text(
        "INSERT INTO portfolio_projects (project_id, portfolio_id, status, stage, version, state, updated_at) "
        "VALUES (:p, 'pf', 'active', 'execute', 3, :state, :at)"
    )
    counted = {"p-counted": (3, 2), "p-none": (0, 0), "p-lessons": (1, 0)}
    db = Database(database_url)
    try:
        async with db.transaction() as session:
            for project, (lessons, realisations) in counted.items():
                state = json.dumps({"project_id": project, "lessons": lessons, "realisations": realisations})
                await session.execute(insert, {"p": project, "state": state, "at": datetime.now(UTC)})
        await asyncio.to_thread(command.upgrade, config, "portfolio_0012")
        async with db.sessions() as session:
            found = (
                await session.execute(text("SELECT project_id, lessons, realisations FROM portfolio_projects"))
            ).all()
        assert {p: (lo, r) for p, lo, r in found} == counted
        await asyncio.to_thread(command.downgrade, config, "portfolio_0011")
        async with db.sessions() as session:
            columns = await session.run_sync(
                lambda s: [c["name"] for c in inspect(s.connection()).get_columns("portfolio_projects")]
            )
            kept = (await session.execute(text("SELECT count(*) FROM portfolio_projects"))).scalar_one()
        assert "lessons" not in columns and "realisations" not in columns and kept == 3
        await asyncio.to_thread(command.upgrade, config, "heads")
    finally:
        await db.dispose()
