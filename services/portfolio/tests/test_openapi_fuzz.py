"""Schemathesis against the portfolio's OpenAPI on a real server (PostgreSQL, the broker): no input gives a 5xx."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import response_schema_conformance

from pmo_devstack.testing import RunningService, ServedInThread, fresh_postgres_database, openapi_of
from pmo_portfolio.bootstrap import PORTFOLIO

from .api_support import isolated, new_portfolio, register, weighted_model

pytestmark = pytest.mark.integration


async def approved_project(service: RunningService, portfolio_id: str, project_id: str) -> None:
    """A project to deliver, so the delivery endpoints reach their rules."""
    await register(service, portfolio_id, project_id)
    body = {"candidate_id": project_id, "outcome": "approved", "rationale": "fuzz",
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
    with ServedInThread(
        isolated(f"fuzz{uuid.uuid4().hex[:8]}"),
        database_url=fresh_postgres_database(postgres_admin_url),
        kafka_bootstrap=kafka_bootstrap,
        data_dir=tmp_path_factory.mktemp("fuzz"),
        prepare=_prepare,
    ) as running:
        yield running


OPENAPI = openapi_of(PORTFOLIO)
FUZZ_CONFIG = SchemathesisConfig.from_dict({"phases": {"coverage": {"enabled": False}}})
schema = schemathesis.openapi.from_dict(OPENAPI, config=FUZZ_CONFIG)


@schema.parametrize()
@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_input_gives_a_server_error(case, served) -> None:
    """As an analyst on the board of a real portfolio, so requests reach the domain rules."""
    service: RunningService = served.service
    headers = {"Authorization": f"Bearer {service.token('fuzzer', 'pmo_analyst', 'board_member', 'project_manager')}"}
    if case.path_parameters and "portfolio_id" in case.path_parameters:
        case.path_parameters["portfolio_id"] = served.prepared["portfolio_id"]
    if case.path_parameters and "candidate_id" in case.path_parameters:
        case.path_parameters["candidate_id"] = "p-1"
    if case.path_parameters and "project_id" in case.path_parameters:
        case.path_parameters["project_id"] = "project-1"
    case.call_and_validate(
        base_url=service.base_url, headers=headers, checks=[not_a_server_error, response_schema_conformance]
    )
    assert httpx.get(f"{service.base_url}/health/live").status_code == 200
