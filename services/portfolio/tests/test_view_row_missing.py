"""A portfolio's commands decide on its event stream, never on its view row: with the row gone (an operator's
delete, a partial restore) the next commands still see every earlier event (review 2 of session 8: a load from the
row made one missing row turn every later command on the portfolio into a 404 until a rebuild).

And the row itself (session 11): a row missing, or restored behind its stream, was folded by the next command's
view write from an empty or an older state and written at the stream's version (a partial fold kept until a
rebuild), and a subscription's poll, which writes the row from the aggregate it holds, updated no row at all when
it was missing. Now such a row is folded from the stream's whole history (`StreamView.many`), or inserted whole
(`Folding.write`): the rows equal a rebuild's after each."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import delete, select

from pmo_devstack.testing import RunningService
from pmo_events.runtime import Metadata
from pmo_portfolio.candidates.commands import register_candidate
from pmo_portfolio.funding.views import portfolios

from .api_support import new_portfolio, register
from .support import YEAR_2027, submitted
from .test_rebuild import every_row, rebuild

pytestmark = pytest.mark.integration


async def _delete_row(service: RunningService, portfolio_id: str) -> None:
    async with service.runtime.db.transaction() as session:
        await session.execute(delete(portfolios).where(portfolios.c.portfolio_id == portfolio_id))


async def _row(service: RunningService, portfolio_id: str) -> dict[str, Any] | None:
    async with service.runtime.db.sessions() as session:
        found = await session.execute(select(portfolios).where(portfolios.c.portfolio_id == portfolio_id))
        row = found.mappings().first()
        return dict(row) if row is not None else None


async def _rows_are_a_rebuilds(service: RunningService) -> None:
    written = await every_row(service)
    await rebuild(service)
    assert await every_row(service) == written


async def test_commands_on_a_portfolio_whose_view_row_went_missing_still_see_its_events(
    service: RunningService,
) -> None:
    portfolio_id = (await new_portfolio(service, ["bea"]))["id"]
    for n in range(2):
        await register(service, portfolio_id, f"proposal-{n}")
    await _delete_row(service, portfolio_id)
    await register(service, portfolio_id, "proposal-2")  # the first command after: its view write re-adds a row
    async with service.client("ann", "pmo_analyst") as analyst:
        budget = [{"fiscal_period": "FY2027", "amount": "5000000"}]
        answer = await analyst.put(f"/portfolios/{portfolio_id}/budget", json={"budget": budget})
    assert answer.status_code == 200, answer.text
    row = await _row(service, portfolio_id)
    assert row is not None and all(f"proposal-{n}" in row["state"] for n in range(3))
    await _rows_are_a_rebuilds(service)


async def test_a_row_restored_behind_its_stream_is_folded_from_the_whole_stream(service: RunningService) -> None:
    portfolio_id = (await new_portfolio(service, ["bea"]))["id"]
    await register(service, portfolio_id, "proposal-0")
    old = await _row(service, portfolio_id)
    assert old is not None
    await register(service, portfolio_id, "proposal-1")
    async with service.runtime.db.transaction() as session:  # a restore from the backup taken before proposal-1
        where = portfolios.c.portfolio_id == portfolio_id
        await session.execute(
            portfolios.update().where(where).values({k: v for k, v in old.items() if k != "portfolio_id"})
        )
    await register(service, portfolio_id, "proposal-2")
    row = await _row(service, portfolio_id)
    assert row is not None and all(f"proposal-{n}" in row["state"] for n in range(3))
    await _rows_are_a_rebuilds(service)


async def test_a_poll_writing_a_portfolio_whose_row_went_missing_inserts_it_whole(service: RunningService) -> None:
    portfolio_id = (await new_portfolio(service, ["bea"]))["id"]
    await register(service, portfolio_id, "proposal-0")
    await _delete_row(service, portfolio_id)
    commands = service.runtime.commands
    async with service.runtime.db.transaction() as session:  # as the intake subscription's batch handler does
        poll = commands.for_poll(session)
        poll.meta = Metadata(actor="rita")
        await register_candidate(poll, submitted("proposal-1", 1, portfolio_id=portfolio_id, timeline=YEAR_2027))
        await poll.end()
    row = await _row(service, portfolio_id)
    assert row is not None and all(f"proposal-{n}" in row["state"] for n in range(2))
    await _rows_are_a_rebuilds(service)
