"""The proposals view: rebuilt from the store it answers the same; an older schema upgrades in place."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import select, text

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
        edited = await alice.patch(url, json={"title": "Initiative 3b"}, headers={"If-Match": '"2"'})
        assert edited.status_code == 200, edited.text
        await alice.post(f"{url}/withdraw", json={"reason": "merged"})
        before = (await alice.get("/proposals", params={"limit": 3})).json()
        runtime = intake.runtime
        written = await view_rows(runtime.db)
        replayed = await rebuild_inline_views(
            runtime.db, runtime.store, tables=INTAKE.view_tables, projectors=INTAKE.projectors
        )
        assert replayed == 7
        assert (await alice.get("/proposals", params={"limit": 3})).json() == before
        # Every row as the commands wrote it (the rebuild skips the content that the next edit replaces).
        assert await view_rows(runtime.db) == written
        assert (await alice.get("/proposals", params={"q": "drone"})).json()["items"][0]["status"] == "withdrawn"


async def view_rows(db: Database) -> dict[str, list[tuple[object, ...]]]:
    async with db.sessions() as session:
        return {
            table.name: sorted(tuple(row) for row in await session.execute(select(table)))
            for table in INTAKE.view_tables
        }


async def test_an_edit_made_while_the_views_are_rebuilt_is_in_the_rebuilt_view(
    postgres_url: str, kafka_bootstrap: str, tmp_path: Path
) -> None:
    """`rebuild` while the service serves: an edit that arrives after the rebuild emptied the view waits for
    the rebuilt rows and changes them (without the rebuild's table lock its UPDATE met the deleted row, changed
    nothing, and the view stayed at version 1 while the stream was at 2: GET answered the old title and ETag)."""
    entered, released = asyncio.Event(), asyncio.Event()

    async def held_open(_session, _event) -> None:  # the rebuild pauses mid-way, its transaction open
        entered.set()
        await released.wait()

    async with (
        intake_service(postgres_url, kafka_bootstrap, tmp_path) as intake,
        intake.client("alice", "requester") as alice,
    ):
        url = (await alice.post("/proposals", json={"title": "New CRM", "portfolio_id": "p"})).headers["location"]
        runtime = intake.runtime
        rebuilding = asyncio.create_task(
            rebuild_inline_views(
                runtime.db, runtime.store, tables=INTAKE.view_tables, projectors=[*INTAKE.projectors, held_open]
            )
        )
        await asyncio.wait_for(entered.wait(), 10)
        editing = asyncio.create_task(alice.patch(url, json={"title": "EDITED"}, headers={"If-Match": '"1"'}))
        await asyncio.sleep(1.0)
        assert not editing.done(), "the edit waits for the rebuild"
        released.set()
        assert await rebuilding == 1
        edited = await editing
        assert edited.status_code == 200, edited.text
        after = await alice.get(url)
        assert (after.headers["etag"], after.json()["title"]) == ('"2"', "EDITED")


async def test_a_database_from_intake_0001_upgrades_with_its_proposals(database_url: str) -> None:
    config = alembic_config(database_url, INTAKE.migrations, INTAKE.metadata)
    await asyncio.to_thread(command.upgrade, config, "intake_0001")
    db = Database(database_url)
    try:
        async with db.transaction() as session:
            await session.execute(
                text(
                    "INSERT INTO intake_proposals (proposal_id, portfolio_id, requester, status, title, version, state,"
                    " created_at, updated_at) VALUES ('p-1', 'pf', 'alice', 'draft', 'Old', 1, '{}', "
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


@pytest.mark.parametrize(
    "types",
    [
        ("pmo.intake.ProposalDrafted.v1",),
        ("pmo.intake.ProposalDrafted.v1", "pmo.intake.ProposalSubmitted.v1", "pmo.intake.ProposalApproved.v1"),
        ("pmo.intake.ProposalDrafted.v1", "pmo.intake.ProposalWithdrawn.v1"),
    ],
)
def test_the_state_column_is_the_same_json_text_as_the_dumped_state_and_reads_back_equal(
    types: tuple[str, ...],
) -> None:
    """The view writes pydantic's JSON of the state (no dict in between) and reads it back in JSON mode: the same
    text as `dumps(model_dump(mode="json"))`, so rows written before and after read the same."""
    from pmo_events.asyncapi.examples import INITIATIVE, example
    from pmo_events.contracts.base import registry
    from pmo_events.envelope import dumps, loads
    from pmo_intake.domain.proposal import Proposal, evolve, initial

    state = initial(INITIATIVE)
    for type_name in types:
        state = evolve(state, registry.decode(type_name, example(registry.classes()[type_name])))
    assert state.status != "draft" or len(types) == 1
    text = state.model_dump_json()
    assert text == dumps(state.model_dump(mode="json")).decode()
    assert Proposal.model_validate_json(text) == Proposal.model_validate(loads(text)) == state
