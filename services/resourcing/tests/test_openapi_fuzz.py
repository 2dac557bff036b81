"""Schemathesis against resourcing's OpenAPI on a real server (PostgreSQL, the broker): no input gives a 5xx."""

from __future__ import annotations

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
from pmo_resourcing.bootstrap import RESOURCING

pytestmark = [
    pytest.mark.integration,
    pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisDeprecationWarning"),
]


async def _prepare(service: RunningService) -> dict[str, Any]:
    """A real resource, so requests on `/resources/{id}` reach the calendar rules."""
    async with service.client("rita", "resource_manager") as manager:
        person = await manager.post("/resources", json={"name": "Ana", "kind": "person", "role": "developer"})
    assert person.status_code == 201, person.text
    return {"resource_id": person.json()["id"]}


@pytest.fixture(scope="module")
def served(postgres_admin_url: str, kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with ServedInThread(
        RESOURCING,
        database_url=fresh_postgres_database(postgres_admin_url),
        kafka_bootstrap=kafka_bootstrap,
        data_dir=tmp_path_factory.mktemp("fuzz"),
        prepare=_prepare,
    ) as running:
        yield running


OPENAPI = openapi_of(RESOURCING)
schema = schemathesis.openapi.from_dict(
    OPENAPI, config=SchemathesisConfig.from_dict({"phases": {"coverage": {"enabled": False}}})
)


@schema.parametrize()
@settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_input_gives_a_server_error(case, served) -> None:
    service: RunningService = served.service
    headers = {"Authorization": f"Bearer {service.token('rita', 'resource_manager', 'admin')}"}
    if case.path_parameters and "resource_id" in case.path_parameters:
        case.path_parameters["resource_id"] = served.prepared["resource_id"]
    case.call_and_validate(
        base_url=service.base_url, headers=headers, checks=[not_a_server_error, response_schema_conformance]
    )
    assert httpx.get(f"{service.base_url}/health/live").status_code == 200
