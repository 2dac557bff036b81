"""The proposals view: rebuilt from the store it answers the same; an older schema upgrades in place."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import text

from pmo_events.runtime import Database
from pmo_events.runtime.migrate import alembic_config
from pmo_events.runtime.projection import rebuild_inline_views
from pmo_intake.bootstrap import INTAKE

from .support import intake_service

pytestmark = pytest.mark.integration


async def test_a_rebuilt_view_answers_exactly_as_before(
    database_url: str, kafka_bootstrap: str, tmp_path: Path
) -> None:
    async with (
        intake_service(database_url, kafka_bootstrap, tmp_path) as intake,
        intake.client("alice", "requester") as alice,
    ):
        for n in range(4):
            body = {"title": f"Initiative {n}", "portfolio_id": "p", "summary": f"robot {n}"}
            url = (await alice.post("/proposals", json=body)).headers["location"]
        await alice.patch(url, json={"summary": "now a drone"}, headers={"If-Match": '"1"'})
        await alice.post(f"{url}/withdraw", json={"reason": "merged"})
        before = (await alice.get("/proposals", params={"limit": 3})).json()
        runtime = intake.runtime
        replayed = await rebuild_inline_views(
            runtime.db, runtime.store, tables=INTAKE.view_tables, projectors=INTAKE.projectors
        )
        assert replayed == 6
        assert (await alice.get("/proposals", params={"limit": 3})).json() == before
        assert (await alice.get("/proposals", params={"q": "drone"})).json()["items"][0]["status"] == "withdrawn"


async def test_a_database_from_intake_0001_upgrades_with_its_proposals(database_url: str) -> None:
    config = alembic_config(database_url, INTAKE.migrations, INTAKE.metadata)
    await asyncio.to_thread(command.upgrade, config, "intake_0001")
    db = Database(database_url)
    try:
        async with db.transaction() as session:
            await session.execute(
                text(
                    "INSERT INTO intake_proposals VALUES ('p-1', 'pf', 'alice', 'draft', 'Old', 1, '{}', "
                    "'2026-11-01 00:00:00+00', '2026-11-01 00:00:00+00')"
                )
            )
        await asyncio.to_thread(command.upgrade, config, "heads")
        async with db.sessions() as session:
            row = (await session.execute(text("SELECT title, listed_at FROM intake_proposals"))).one()
            objectives = (await session.execute(text("SELECT count(*) FROM intake_known_objectives"))).scalar_one()
        assert (row.title, row.listed_at, objectives) == ("Old", None, 0)
        await asyncio.to_thread(command.downgrade, config, "intake_0001")
    finally:
        await db.dispose()
