"""Schemathesis against intake's OpenAPI on a real server (PostgreSQL, the broker): no input gives a 5xx,
every answer has the declared shape (`pmo_devstack.fuzzing`)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from hypothesis import HealthCheck, settings

from pmo_devstack.fuzzing import call_and_check, fuzzed_schema, served_for_fuzzing
from pmo_devstack.testing import RunningService, openapi_of
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
    with served_for_fuzzing(
        INTAKE,
        postgres_admin_url=postgres_admin_url,
        kafka_bootstrap=kafka_bootstrap,
        data_dir=tmp_path_factory.mktemp("fuzz"),
    ) as served:
        assert served.service is not None
        yield served.service


schema = fuzzed_schema(INTAKE)


def test_the_fuzzed_document_is_the_one_the_service_serves(served_intake: RunningService) -> None:
    assert httpx.get(f"{served_intake.base_url}/openapi.json").json() == openapi_of(INTAKE)


@schema.parametrize()
@settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_input_gives_a_server_error(case, served_intake: RunningService) -> None:
    token = served_intake.token("fuzzer", "requester")
    if case.path_parameters and "proposal_id" in case.path_parameters:
        # Mostly aim at a real draft, so edits, submissions and withdrawals reach the domain rules.
        created = httpx.post(
            f"{served_intake.base_url}/proposals",
            json={"title": "Fuzzed", "portfolio_id": "p"},
            headers={"Authorization": f"Bearer {token}"},
        )
        case.path_parameters["proposal_id"] = created.json()["id"]
        if case.method == "PATCH" and case.headers is not None and "If-Match" in case.headers:
            case.headers["If-Match"] = '"1"'
    call_and_check(case, served_intake, token)
