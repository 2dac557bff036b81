"""Schemathesis against the portfolio's OpenAPI on a real server (PostgreSQL, the broker): no input gives a 5xx,
every answer has the declared shape (`pmo_devstack.fuzzing`)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from pmo_devstack.fuzzing import call_and_check, fuzzed_schema, served_for_fuzzing
from pmo_devstack.testing import RunningService
from pmo_portfolio.bootstrap import PORTFOLIO

from .api_support import isolated, new_portfolio, register, weighted_model

pytestmark = [
    pytest.mark.integration,
    # Schemathesis itself draws from `random` inside its strategies; not ours to fix.
    pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisDeprecationWarning"),
]


async def approved_project(service: RunningService, portfolio_id: str, project_id: str) -> None:
    """A project to deliver, so the delivery endpoints reach their rules."""
    await register(service, portfolio_id, project_id)
    body = {"candidate_id": project_id, "outcome": "approved", "rationale": "fuzz", "override_reason": "unscored",
            "approved_budget": [{"fiscal_period": "FY2027", "amount": "100"}]}  # fmt: skip
    async with service.client("fuzzer", "board_member") as board:
        assert (await board.post(f"/portfolios/{portfolio_id}/decisions", json=body)).status_code == 201


async def _prepare(service: RunningService) -> dict[str, Any]:
    """A real portfolio with a scoring model, a candidate and an approved project to aim requests at."""
    portfolio_id = (await new_portfolio(service, ["fuzzer"]))["id"]
    await weighted_model(service, portfolio_id)
    await register(service, portfolio_id, "p-1")
    await approved_project(service, portfolio_id, "project-1")
    return {"portfolio_id": portfolio_id}


@pytest.fixture(scope="module")
def served(postgres_admin_url: str, kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with served_for_fuzzing(
        isolated(f"fuzz{uuid.uuid4().hex[:8]}"),
        postgres_admin_url=postgres_admin_url,
        kafka_bootstrap=kafka_bootstrap,
        data_dir=tmp_path_factory.mktemp("fuzz"),
        prepare=_prepare,
    ) as running:
        yield running


schema = fuzzed_schema(PORTFOLIO)


@schema.parametrize()
@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_input_gives_a_server_error(case, served) -> None:
    """As an analyst on the board of a real portfolio, so requests reach the domain rules."""
    service: RunningService = served.service
    token = service.token("fuzzer", "pmo_analyst", "board_member", "project_manager")
    if case.path_parameters and "portfolio_id" in case.path_parameters:
        case.path_parameters["portfolio_id"] = served.prepared["portfolio_id"]
    if case.path_parameters and "candidate_id" in case.path_parameters:
        case.path_parameters["candidate_id"] = "p-1"
    if case.path_parameters and "project_id" in case.path_parameters:
        case.path_parameters["project_id"] = "project-1"
    call_and_check(case, service, token)
