"""Schemathesis against reporting's OpenAPI on a real server (PostgreSQL, the broker): no input gives a 5xx."""

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
from pmo_reporting.bootstrap import REPORTING

pytestmark = [
    pytest.mark.integration,
    pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisDeprecationWarning"),
]


@pytest.fixture(scope="module")
def served(postgres_admin_url: str, kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with ServedInThread(
        REPORTING,
        database_url=fresh_postgres_database(postgres_admin_url),
        kafka_bootstrap=kafka_bootstrap,
        data_dir=tmp_path_factory.mktemp("fuzz"),
    ) as running:
        yield running


OPENAPI = openapi_of(REPORTING)
schema = schemathesis.openapi.from_dict(
    OPENAPI, config=SchemathesisConfig.from_dict({"phases": {"coverage": {"enabled": False}}})
)


@schema.parametrize()
@settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_input_gives_a_server_error(case, served) -> None:
    service: RunningService = served.service
    headers = {"Authorization": f"Bearer {service.token('auditor', 'admin')}"}
    case.call_and_validate(
        base_url=service.base_url, headers=headers, checks=[not_a_server_error, response_schema_conformance]
    )
    assert httpx.get(f"{service.base_url}/health/live").status_code == 200
