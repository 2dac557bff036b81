"""A unit of work loads a portfolio from its row in the portfolios view and the events after it, not by folding its
stream (issue 17: every project command loads its portfolio, whose stream holds an event per candidate registered
and decided): the same state and version as the fold, whether the row is current, behind its stream or missing;
and the row is what is read (a row changed by hand at the stream's version is what the load answers)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import delete, update

from pmo_devstack.testing import RunningService
from pmo_events.runtime import Metadata
from pmo_portfolio.funding.commands import PORTFOLIO
from pmo_portfolio.funding.domain import Portfolio
from pmo_portfolio.funding.views import portfolios

from .api_support import new_portfolio, register

pytestmark = pytest.mark.integration


async def _folded(service: RunningService, portfolio_id: str, upto: int | None = None) -> tuple[Portfolio, int]:
    """The portfolio folded from its stream's events (all, or the first `upto`): no snapshot, no row."""
    async with service.runtime.db.sessions() as session:
        recorded = await service.runtime.commands.store.load(session, portfolio_id)
    state = PORTFOLIO.initial(portfolio_id)
    for event in recorded[:upto]:
        state = PORTFOLIO.evolve(state, event.decode())
    return state, recorded[:upto][-1].sequence


async def _loaded(service: RunningService, portfolio_id: str) -> tuple[Portfolio, int]:
    async with service.runtime.commands.unit_of_work(Metadata(actor="test")) as uow:
        loaded = await uow.load(PORTFOLIO, portfolio_id)
    return loaded.state, loaded.version


async def _set_row(service: RunningService, portfolio_id: str, state: Portfolio | None, version: int = 0) -> None:
    async with service.runtime.db.transaction() as session:
        if state is None:
            await session.execute(delete(portfolios).where(portfolios.c.portfolio_id == portfolio_id))
        else:
            row = {"state": state.model_dump_json(), "version": version}
            await session.execute(update(portfolios).where(portfolios.c.portfolio_id == portfolio_id).values(row))


async def test_a_portfolio_loads_from_its_row_and_the_events_after_it(service: RunningService) -> None:
    portfolio_id = (await new_portfolio(service, ["bea"]))["id"]
    for n in range(5):
        await register(service, portfolio_id, f"proposal-{n}")
    folded = await _folded(service, portfolio_id)
    assert folded[1] == 6 and len(folded[0].candidates) == 5
    assert await _loaded(service, portfolio_id) == folded

    created, _ = await _folded(service, portfolio_id, upto=1)
    await _set_row(service, portfolio_id, created, 1)  # behind its stream: the five registrations folded on it
    assert await _loaded(service, portfolio_id) == folded

    await _set_row(service, portfolio_id, None)  # no row: the stream (and its snapshot) as before
    assert await _loaded(service, portfolio_id) == folded

    async with service.runtime.db.transaction() as session:
        row = {"portfolio_id": portfolio_id, "name": "x", "version": 6, "updated_at": datetime.now(UTC)}
        await session.execute(portfolios.insert().values({**row, "state": folded[0].model_dump_json()}))
    await _set_row(service, portfolio_id, folded[0].model_copy(update={"name": "As the row says"}), 6)
    state, version = await _loaded(service, portfolio_id)
    assert (state.name, version) == ("As the row says", 6), "the row is read, not the stream"
