"""Schemathesis against reporting's OpenAPI on a real server (PostgreSQL, the broker): no input gives a 5xx,
every answer has the declared shape (`pmo_devstack.fuzzing`)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from pmo_devstack.fuzzing import call_and_check, fuzzed_schema, served_for_fuzzing
from pmo_devstack.testing import RunningService
from pmo_reporting.bootstrap import REPORTING

pytestmark = [
    pytest.mark.integration,
    pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisDeprecationWarning"),
]


@pytest.fixture(scope="module")
def served(postgres_admin_url: str, kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with served_for_fuzzing(
        REPORTING,
        postgres_admin_url=postgres_admin_url,
        kafka_bootstrap=kafka_bootstrap,
        data_dir=tmp_path_factory.mktemp("fuzz"),
    ) as running:
        yield running


schema = fuzzed_schema(REPORTING)


@schema.parametrize()
@settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_input_gives_a_server_error(case, served) -> None:
    service: RunningService = served.service
    token = service.token("auditor", "admin")
    call_and_check(case, service, token)
