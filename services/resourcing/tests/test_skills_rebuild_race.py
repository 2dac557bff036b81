"""Session 11's notes: `_write_skills` deletes then re-inserts a resource's `resource_skills` rows unwrapped, so a
profile change racing a rebuild (EXCLUSIVE on the views, every row re-inserted) might meet the rebuild's skill rows:
a unique violation, a 500, as R2-1 did for the resource's row. It does not: the skills are written after the
resource's row in the same transaction, whose write waits on the rebuild's lock; the DELETE after it reads the rows
the rebuild committed. Kept as a guard: the PATCH is a 200 and the rows are what a rebuild makes, row present or
missing (PostgreSQL; SQLite's writers take turns)."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import delete, select, text

from pmo_devstack.testing import RunningService
from pmo_resourcing.adapters.db.tables import resource_skills, resources

from .support import MANAGER, register
from .test_resource_row_out_of_step import _rebuilt_equal

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("row", ["present", "missing"])
async def test_a_skills_change_during_a_rebuild_is_not_a_500(service: RunningService, row: str) -> None:
    db = service.runtime.db
    if not db.is_postgres:
        pytest.skip("the rebuild's table lock is PostgreSQL's (SQLite's writers take turns: no such window)")
    async with service.client(*MANAGER) as client:
        ada = await register(client, name="Ada Lovelace")
        where = resources.c.resource_id == ada["id"]
        async with db.sessions() as session:
            old = dict((await session.execute(select(resources).where(where))).mappings().one())
            skills = [dict(r) for r in (await session.execute(select(resource_skills))).mappings()]
        if row == "missing":
            async with db.transaction() as session:
                await session.execute(delete(resources).where(where))
        async with db.transaction() as rebuild:
            await rebuild.execute(
                text(f"LOCK TABLE {resources.fullname}, {resource_skills.fullname} IN EXCLUSIVE MODE")
            )
            await rebuild.execute(delete(resources))
            await rebuild.execute(delete(resource_skills))
            body = {"skills": [{"name": "python", "level": 5}, {"name": "sql", "level": 3}]}
            patch = asyncio.create_task(client.patch(f"/resources/{ada['id']}", json=body, headers={"If-Match": '"1"'}))
            await asyncio.sleep(2.0)
            assert not patch.done()  # its write waits on the rebuild's lock
            await rebuild.execute(resources.insert().values(old))
            await rebuild.execute(resource_skills.insert(), skills)
        answer = await patch
        assert answer.status_code == 200, answer.text
        seen = (await client.get(f"/resources/{ada['id']}")).json()
        assert sorted((s["name"], s["level"]) for s in seen["skills"]) == [("python", 5), ("sql", 3)]
    await _rebuilt_equal(service)
