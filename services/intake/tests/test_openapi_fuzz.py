"""Schemathesis against intake's OpenAPI on a real server (PostgreSQL, the broker): no input gives a 5xx."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import response_schema_conformance

from pmo_devstack.testing import RunningService, ServedInThread, fresh_postgres_database, openapi_of
from pmo_intake.bootstrap import INTAKE

pytestmark = [
    pytest.mark.integration,
    # Schemathesis itself draws from `random` inside its strategies; not ours to fix.
    pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisDeprecationWarning"),
]


@pytest.fixture(scope="module")
def served_intake(
    postgres_admin_url: str, kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningService]:
    database_url = fresh_postgres_database(postgres_admin_url)
    data_dir = tmp_path_factory.mktemp("fuzz")
    with ServedInThread(
        INTAKE, database_url=database_url, kafka_bootstrap=kafka_bootstrap, data_dir=data_dir
    ) as served:
        assert served.service is not None
        yield served.service


OPENAPI = openapi_of(INTAKE)
#: Examples and fuzzing (positive and negative data); the exhaustive coverage phase would take minutes.
FUZZ_CONFIG = SchemathesisConfig.from_dict({"phases": {"coverage": {"enabled": False}}})
schema = schemathesis.openapi.from_dict(OPENAPI, config=FUZZ_CONFIG)


def test_the_fuzzed_document_is_the_one_the_service_serves(served_intake: RunningService) -> None:
    assert httpx.get(f"{served_intake.base_url}/openapi.json").json() == OPENAPI


@schema.parametrize()
@settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_input_gives_a_server_error(case, served_intake: RunningService) -> None:
    token = served_intake.token("fuzzer", "requester")
    headers = {"Authorization": f"Bearer {token}"}
    if case.path_parameters and "proposal_id" in case.path_parameters:
        # Mostly aim at a real draft, so edits, submissions and withdrawals reach the domain rules.
        created = httpx.post(
            f"{served_intake.base_url}/proposals", json={"title": "Fuzzed", "portfolio_id": "p"}, headers=headers
        )
        case.path_parameters["proposal_id"] = created.json()["id"]
        if case.method == "PATCH" and case.headers is not None and "If-Match" in case.headers:
            case.headers["If-Match"] = '"1"'
    case.call_and_validate(
        base_url=served_intake.base_url,
        headers=headers,
        checks=[not_a_server_error, response_schema_conformance],
    )
