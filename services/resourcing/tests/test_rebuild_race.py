"""Session 11 review 2, R2-1: a resource's view row missing (an operator's delete, a partial restore), an operator's
rebuild under way (EXCLUSIVE on the view, as `rebuild_inline_views` holds it, the rows re-inserted from the events
committed before its lock), and a PATCH meanwhile: `project_resource` folds the whole stream and inserts the row;
the insert waits on the rebuild's lock and then met the rebuild's row: a unique violation answered 500. Now it is
a lost race: the PATCH is decided again on the rebuilt row (200) and the rows are what a rebuild makes. The
rebuild is simulated step for step so the window is deterministic (PostgreSQL's lock)."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import delete, select, text

from pmo_devstack.testing import RunningService
from pmo_resourcing.adapters.db.tables import resources

from .support import MANAGER, register
from .test_resource_row_out_of_step import _rebuilt_equal

pytestmark = pytest.mark.integration


async def test_a_patch_during_a_rebuild_of_its_missing_row_is_decided_again(service: RunningService) -> None:
    db = service.runtime.db
    if not db.is_postgres:
        pytest.skip("the rebuild's table lock is PostgreSQL's (SQLite's writers take turns: no such window)")
    async with service.client(*MANAGER) as client:
        ada = await register(client, name="Ada Lovelace")
        where = resources.c.resource_id == ada["id"]
        async with db.sessions() as session:
            old = dict((await session.execute(select(resources).where(where))).mappings().one())
        async with db.transaction() as session:
            await session.execute(delete(resources).where(where))
        async with db.transaction() as rebuild:
            await rebuild.execute(text(f"LOCK TABLE {resources.fullname} IN EXCLUSIVE MODE"))
            await rebuild.execute(delete(resources))
            patch = asyncio.create_task(
                client.patch(f"/resources/{ada['id']}", json={"role": "architect"}, headers={"If-Match": '"1"'})
            )
            await asyncio.sleep(2.0)
            assert not patch.done()  # its insert waits on the rebuild's lock
            await rebuild.execute(resources.insert().values(old))
        answer = await patch
        assert answer.status_code == 200, answer.text
        seen = (await client.get(f"/resources/{ada['id']}")).json()
        assert (seen["name"], seen["role"]) == ("Ada Lovelace", "architect")
    await _rebuilt_equal(service)
