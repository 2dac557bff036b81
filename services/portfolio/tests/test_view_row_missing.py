"""A portfolio's commands decide on its event stream, never on its view row: with the row gone (an operator's
delete, a partial restore) the next commands still see every earlier event (review 2 of session 8: a load from the
row made one missing row turn every later command on the portfolio into a 404 until a rebuild)."""

from __future__ import annotations

import pytest
from sqlalchemy import delete

from pmo_devstack.testing import RunningService
from pmo_portfolio.funding.views import portfolios

from .api_support import new_portfolio, register

pytestmark = pytest.mark.integration


async def test_commands_on_a_portfolio_whose_view_row_went_missing_still_see_its_events(
    service: RunningService,
) -> None:
    portfolio_id = (await new_portfolio(service, ["bea"]))["id"]
    for n in range(2):
        await register(service, portfolio_id, f"proposal-{n}")
    async with service.runtime.db.transaction() as session:
        await session.execute(delete(portfolios).where(portfolios.c.portfolio_id == portfolio_id))
    await register(service, portfolio_id, "proposal-2")  # the first command after: its view write re-adds a row
    async with service.client("ann", "pmo_analyst") as analyst:
        budget = [{"fiscal_period": "FY2027", "amount": "5000000"}]
        answer = await analyst.put(f"/portfolios/{portfolio_id}/budget", json={"budget": budget})
    assert answer.status_code == 200, answer.text
