"""Portfolio's real app answers every request the same with `FlatRoute` as with FastAPI's own route handler
(`pmo_devstack.flat_routes`: every operation of its OpenAPI document with each kind of token, body, path parameter
and bad query; the same status, body and headers, ids and times normalised; the same OpenAPI document). The
scenario solver's operation is not sent: it runs in a worker process (its route is a FlatRoute like the rest)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from pmo_devstack.flat_routes import answers
from pmo_events.runtime import Metadata
from pmo_portfolio.bootstrap import PORTFOLIO
from pmo_portfolio.candidates.commands import register_candidate
from pmo_portfolio.funding.commands import create_portfolio
from pmo_portfolio.funding.domain.portfolio import CreatePortfolio
from pmo_servicekit.service import ServiceRuntime

from .support import money, submitted

pytestmark = pytest.mark.integration
SOLVER = {"POST /portfolios/{portfolio_id}/scenarios"}
PROPOSAL = "11111111-1111-4111-8111-111111111111"
PORTFOLIO_ID = "22222222-2222-4222-8222-222222222222"


def _made(answer: Any) -> dict[str, Any]:
    assert answer.status_code in (200, 201), answer.text
    return answer.json()


def _prepare(client: TestClient, tokens: dict[str, str | None]) -> dict[str, str]:
    """An objective, a portfolio whose whole board is the tokens' subject and a candidate in it (both made by the
    service's own commands, as paula and as the intake subscription), the candidate approved (so a project), a
    programme and a RAID item: requests on their paths reach more than 404."""
    analyst = {"Authorization": tokens["pmo_analyst"] or ""}
    board = {"Authorization": tokens["board_member"] or ""}
    period = {"start": "2027-01-01", "end": "2029-12-31"}
    objective = _made(
        client.post("/objectives", json={"title": "Grow", "weight": "3", "period": period}, headers=analyst)
    )
    runtime: ServiceRuntime = client.app.state.runtime  # type: ignore[attr-defined]

    async def portfolio_with_a_candidate() -> None:
        # made by paula, so the tokens' subject (ann) may sit on its board alone (quorum 1) and decide
        command = CreatePortfolio(PORTFOLIO_ID, "Change", "EUR", "ann", money(("FY2027", "1000")), ("ann",), "paula")
        async with runtime.commands.unit_of_work(Metadata(actor="paula")) as uow:
            await create_portfolio(uow, command)
        async with runtime.commands.unit_of_work(Metadata(actor="rita")) as uow:
            await register_candidate(uow, submitted(PROPOSAL, portfolio_id=PORTFOLIO_ID))

    client.portal.call(portfolio_with_a_candidate)  # type: ignore[union-attr]
    portfolio = PORTFOLIO_ID
    decision = {
        "candidate_id": PROPOSAL,
        "outcome": "approved",
        "rationale": "strong case",
        "override_reason": "no scoring round",
        "approved_budget": [{"fiscal_period": "FY2027", "amount": "300.00"}],
    }
    _made(client.post(f"/portfolios/{portfolio}/decisions", json=decision, headers=board))
    programme = {
        "name": "Journey",
        "portfolio_id": portfolio,
        "senior_responsible_owner": "ann",
        "programme_manager": "ann",
        "vision": "online",
    }
    programme_id = _made(client.post("/programmes", json=programme, headers=analyst))["id"]
    risk = {"kind": "assumption", "level": "portfolio", "level_id": portfolio, "owner": "ann", "title": "Budget"}
    raid_item = _made(client.post(f"/portfolios/{portfolio}/raid-items", json=risk, headers=analyst))["id"]
    return {
        "objective_id": objective["id"],
        "portfolio_id": portfolio,
        "candidate_id": PROPOSAL,
        "project_id": PROPOSAL,
        "programme_id": programme_id,
        "raid_item_id": raid_item,
    }


def test_portfolio_answers_alike_with_flat_routes_and_fastapis_own(tmp_path: Path) -> None:
    (tmp_path / "flat").mkdir()
    (tmp_path / "plain").mkdir()
    flat_openapi, flat, flat_solved, flat_spans = answers(
        PORTFOLIO, tmp_path / "flat", flat=True, prepare=_prepare, skip=SOLVER
    )
    plain_openapi, plain, plain_solved, _ = answers(
        PORTFOLIO, tmp_path / "plain", flat=False, prepare=_prepare, skip=SOLVER
    )
    assert not flat_solved, "the flat app never walks FastAPI's dependency tree, with a global tracer provider set"
    assert flat_spans == 0, "FastAPI's own telemetry is off in create_app's apps"
    assert plain_solved.total() > 2000, "the plain app does: the comparison is between the two handlers"
    assert flat_openapi == plain_openapi
    assert len(flat) == len(plain) > 2000
    differing = [(x[0], x[1], y[1], x[2][:300], y[2][:300]) for x, y in zip(flat, plain, strict=True) if x[1:] != y[1:]]
    assert differing == [], differing[:5]
    statuses = Counter(x[1] for x in flat)
    assert not [x[0] for x in flat if x[1] >= 500], "no input may produce a 5xx"
    assert {200, 201, 401, 403, 404, 409, 422} <= set(statuses), statuses
