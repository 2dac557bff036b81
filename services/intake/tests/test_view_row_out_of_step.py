"""A proposal's view row missing (an operator's delete, a partial restore) or restored behind its stream, then an
edit: the row was folded from the edit alone (or from the older row) and written at the stream's version, a
partial fold kept until a rebuild. Now it is folded from the proposal's whole stream, and a missing row is
inserted with the columns its first event gives (`listed_at`, its draft's store position: its place in the list
is kept). The rows equal a rebuild's. (On the old code the missing row failed; an edit carries the proposal's
whole content, so a row restored behind happened to come out right and that case is a guard.)"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import delete, select

from pmo_events.runtime.projection import rebuild_inline_views
from pmo_intake.adapters.db.tables import proposals
from pmo_intake.bootstrap import INTAKE

from .support import intake_service
from .test_views import view_rows

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("damage", ["missing", "behind"])
async def test_an_edit_after_the_row_went_out_of_step_writes_the_whole_proposal(
    database_url: str, kafka_bootstrap: str, tmp_path: Path, damage: str
) -> None:
    async with (
        intake_service(database_url, kafka_bootstrap, tmp_path) as intake,
        intake.client("alice", "requester") as alice,
    ):
        urls = []
        for n in range(2):
            body = {"title": f"Initiative {n}", "portfolio_id": "p", "summary": f"robot {n}"}
            urls.append((await alice.post("/proposals", json=body)).headers["location"])
        url, proposal_id = urls[0], urls[0].rsplit("/", 1)[1]
        db = intake.runtime.db
        async with db.sessions() as session:
            query = select(proposals).where(proposals.c.proposal_id == proposal_id)
            old = dict((await session.execute(query)).mappings().one())
        edited = await alice.patch(url, json={"summary": "now a drone"}, headers={"If-Match": '"1"'})
        assert edited.status_code == 200, edited.text
        async with db.transaction() as session:
            where = proposals.c.proposal_id == proposal_id
            if damage == "missing":
                await session.execute(delete(proposals).where(where))
            else:  # restored from the backup taken before the edit
                values = {k: v for k, v in old.items() if k != "proposal_id"}
                await session.execute(proposals.update().where(where).values(values))
        again = await alice.patch(url, json={"title": "Initiative 0b"}, headers={"If-Match": '"2"'})
        assert again.status_code == 200, again.text
        seen = (await alice.get(url)).json()
        assert (seen["title"], seen["summary"]) == ("Initiative 0b", "now a drone")
        listed = (await alice.get("/proposals")).json()["items"]
        written = await view_rows(db)
        await rebuild_inline_views(db, intake.runtime.store, tables=INTAKE.view_tables, projectors=INTAKE.projectors)
        assert await view_rows(db) == written
        assert (await alice.get("/proposals")).json()["items"] == listed
