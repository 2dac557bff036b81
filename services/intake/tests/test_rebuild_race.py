"""Session 11 review 2, R2-1: a proposal's view row missing (an operator's delete, a partial restore), an operator's
rebuild under way (it holds EXCLUSIVE on the view, as `rebuild_inline_views` does, and inserts the rows folded from
the events committed before its lock), and an edit arriving meanwhile. The edit reads "no row", folds the whole
stream and inserts the row; the insert waits on the rebuild's lock and then met the rebuild's row: a unique
violation answered 500. Now it is a lost race: the edit is decided again on the rebuilt row (200) and the row is
what a rebuild makes. The rebuild is simulated step for step so the window is deterministic (PostgreSQL's lock)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import delete, select, text

from pmo_events.runtime.projection import rebuild_inline_views
from pmo_intake.adapters.db.tables import proposals
from pmo_intake.bootstrap import INTAKE

from .support import intake_service
from .test_views import view_rows

pytestmark = pytest.mark.integration


async def test_an_edit_during_a_rebuild_of_its_missing_row_is_decided_again(
    database_url: str, kafka_bootstrap: str, tmp_path: Path
) -> None:
    if "postgres" not in database_url:
        pytest.skip("the rebuild's table lock is PostgreSQL's (SQLite's writers take turns: no such window)")
    async with (
        intake_service(database_url, kafka_bootstrap, tmp_path) as intake,
        intake.client("alice", "requester") as alice,
    ):
        body = {"title": "Initiative", "portfolio_id": "p", "summary": "robot"}
        url = (await alice.post("/proposals", json=body)).headers["location"]
        proposal_id = url.rsplit("/", 1)[1]
        db = intake.runtime.db
        where = proposals.c.proposal_id == proposal_id
        async with db.sessions() as session:
            old = dict((await session.execute(select(proposals).where(where))).mappings().one())
        async with db.transaction() as session:
            await session.execute(delete(proposals).where(where))
        # The rebuild: lock, delete, re-insert what the committed events give, commit.
        async with db.transaction() as rebuild:
            await rebuild.execute(text(f"LOCK TABLE {proposals.fullname} IN EXCLUSIVE MODE"))
            await rebuild.execute(delete(proposals))
            edit = asyncio.create_task(alice.patch(url, json={"summary": "now a drone"}, headers={"If-Match": '"1"'}))
            await asyncio.sleep(2.0)
            assert not edit.done()  # its insert waits on the rebuild's lock
            await rebuild.execute(proposals.insert().values(old))
        answer = await edit
        assert answer.status_code == 200, answer.text
        seen = await alice.get(url)
        assert seen.status_code == 200, seen.text
        assert (seen.json()["summary"], seen.headers["etag"]) == ("now a drone", '"2"')
        written = await view_rows(db)
        await rebuild_inline_views(db, intake.runtime.store, tables=INTAKE.view_tables, projectors=INTAKE.projectors)
        assert await view_rows(db) == written
