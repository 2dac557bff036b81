"""Schemathesis against one service on a real server: the same configuration and checks for every service.

A service's `test_openapi_fuzz.py` serves the service once per module (`served_for_fuzzing`), draws its
cases from the service's own OpenAPI document (`fuzzed_schema`) and answers each with `call_and_check`:
never a 5xx, always the shape the document declares, and the service still alive afterwards.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import schemathesis
from schemathesis import Case
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import response_schema_conformance
from schemathesis.specs.openapi.schemas import OpenApiSchema

from pmo_devstack.testing import (
    CLIENT_TIMEOUT_SECONDS,
    RunningService,
    ServedInThread,
    fresh_postgres_database,
    openapi_of,
)
from pmo_servicekit.service import ServiceDefinition

#: Examples and fuzzing (positive and negative data); the exhaustive coverage phase would take minutes.
FUZZ_CONFIG = SchemathesisConfig.from_dict({"phases": {"coverage": {"enabled": False}}})
#: What every answer is checked for: not a server error, and the schema the document declares for it.
CHECKS = [not_a_server_error, response_schema_conformance]


def fuzzed_schema(definition: ServiceDefinition) -> OpenApiSchema:
    """The service's own OpenAPI document (built without I/O), ready to draw cases from."""
    return schemathesis.openapi.from_dict(openapi_of(definition), config=FUZZ_CONFIG)


@contextmanager
def served_for_fuzzing(
    definition: ServiceDefinition,
    *,
    postgres_admin_url: str,
    kafka_bootstrap: str,
    data_dir: Path,
    prepare: Callable[[RunningService], Awaitable[dict[str, Any]]] | None = None,
) -> Iterator[ServedInThread]:
    """The service on a fresh PostgreSQL database and the broker, in a thread of its own (Schemathesis is
    synchronous); `prepare` creates what the cases are aimed at, its answer is `.prepared`."""
    with (
        fresh_postgres_database(postgres_admin_url) as database_url,
        ServedInThread(
            definition, database_url=database_url, kafka_bootstrap=kafka_bootstrap, data_dir=data_dir, prepare=prepare
        ) as served,
    ):
        yield served


def call_and_check(case: Case, service: RunningService, token: str) -> None:
    """Send `case` with `token`, check the answer (`CHECKS`), then that the service still answers."""
    # Schemathesis' own 10 s timeout flaked under load on portfolio's first POST .../scenarios (its solver process
    # starting: scipy imported at load 19 takes tens of seconds), an answer the service was still giving.
    headers = {"Authorization": f"Bearer {token}"}
    case.call_and_validate(base_url=service.base_url, headers=headers, checks=CHECKS, timeout=CLIENT_TIMEOUT_SECONDS)
    assert httpx.get(f"{service.base_url}/health/live").status_code == 200
