"""Helpers for the portfolio's HTTP tests: a running service, a portfolio, candidates from proposals."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any

from pmo_devstack.testing import RunningService
from pmo_events.contracts.common import Timeline
from pmo_events.runtime import Metadata
from pmo_portfolio.bootstrap import PORTFOLIO
from pmo_portfolio.candidates.commands import register_candidate
from pmo_servicekit.service import ServiceDefinition

from .support import YEAR_2027, submitted

#: What `support.submitted` asks for in all: approving more needs an `exceeds_request_reason`.
REQUESTED = Decimal("300")
BUDGET = [{"fiscal_period": "FY2027", "amount": "1000.00"}, {"fiscal_period": "FY2028", "amount": "500.00"}]


def isolated(prefix: str) -> ServiceDefinition:
    """The service on topics of its own: other tests on the shared broker (resourcing's, reporting's) never
    receive the projects these tests initiate, nor these tests their proposals."""
    return replace(PORTFOLIO, topic=f"{prefix}.portfolio.events", consumes=(f"{prefix}.intake.events",))


async def new_portfolio(service: RunningService, board: list[str], **extra: Any) -> dict[str, Any]:
    async with service.client("ann", "pmo_analyst") as analyst:
        body = {"name": "Change 2027", "currency": "EUR", "owner": "olga", "budget": BUDGET, "board_members": board}
        response = await analyst.post("/portfolios", json={**body, **extra})
    assert response.status_code == 201, response.text
    return response.json()


async def register(
    service: RunningService,
    portfolio_id: str,
    proposal_id: str,
    submission: int = 1,
    timeline: Timeline = YEAR_2027,
    programme_id: str | None = None,
) -> None:
    """What the intake subscription does with a ProposalSubmitted, without the broker in between."""
    proposal = submitted(
        proposal_id, submission, portfolio_id=portfolio_id, timeline=timeline, programme_id=programme_id
    )
    async with service.runtime.commands.unit_of_work(Metadata(actor="rita")) as uow:
        await register_candidate(uow, proposal)


def above_request(amount: str) -> dict[str, str]:
    """The reason an approval of `amount` needs when it is more than the request asked for (else nothing)."""
    return {"exceeds_request_reason": "contingency on top of the request"} if Decimal(amount) > REQUESTED else {}


async def weighted_model(service: RunningService, portfolio_id: str) -> None:
    async with service.client("ann", "pmo_analyst") as analyst:
        criteria = [{"key": "value", "name": "Value", "weight": "3"}, {"key": "risk", "name": "Risk", "weight": "1"}]
        response = await analyst.put(f"/portfolios/{portfolio_id}/scoring-model", json={"criteria": criteria})
    assert response.status_code == 200, response.text
