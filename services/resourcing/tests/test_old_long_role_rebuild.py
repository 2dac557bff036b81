"""A demand line raised before session 10 from a role estimate of 101-200 characters (intake took 200 then; now
100): resourcing's DemandRaised event keeps the whole role, the view row was cut to 100 by the command's cast on
PostgreSQL. Events are never rewritten and a rebuild no longer cuts, so `resourcing_demands.role` VARCHAR(100)
made such a history's rebuild fail (review 1 of session 10, F2); the column is unbounded text since
resourcing_0005 and the row is rebuilt with the whole role."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import text

from pmo_devstack.testing import RunningService
from pmo_events.runtime.projection import rebuild_inline_views
from pmo_resourcing.bootstrap import RESOURCING

from .support import active_project
from .test_api_allocations import view_rows

pytestmark = pytest.mark.integration

OLD_ROLE = "platform engineer " + "r" * 132  # 150 characters, as intake took it before its bound of 100


async def test_a_demand_raised_from_an_older_longer_role_is_rebuilt_whole(service: RunningService) -> None:
    await active_project(service, ("platform engineer", "1", date(2027, 1, 4), date(2027, 1, 15)))
    runtime = service.runtime
    async with runtime.db.transaction() as session:  # the history as older code left it: the event's whole role
        await session.execute(
            text("UPDATE pmo_events SET data = replace(data, :short, :long) WHERE type LIKE '%DemandRaised%'"),
            {"short": '"platform engineer"', "long": f'"{OLD_ROLE}"'},
        )
    replayed = await rebuild_inline_views(
        runtime.db, runtime.store, tables=RESOURCING.view_tables, projectors=RESOURCING.projectors
    )
    assert replayed >= 1
    [row] = (await view_rows(runtime.db))["resourcing_demands"]
    assert OLD_ROLE in row
