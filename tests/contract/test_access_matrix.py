"""The access matrix over real HTTP: every operation of the four services by every role (and none), each
service served on its own PostgreSQL database with the broker, checked against what docs/access.md says.

A refused call must be the role gate's 403 and change nothing (the event store, the outbox and the
idempotency keys are counted before and after); an allowed one must get past the gate; nothing answers a
5xx. The walk itself is proven to catch an operation that forgets to check (a deliberately undeclared
route of a test app). Owner versus non-owner, on real objects, is in each service's `test_api_access.py`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import APIRouter, FastAPI, Request
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from pmo_devstack.access_matrix import NO_ROLE, violations
from pmo_devstack.fuzzing import served_for_fuzzing
from pmo_devstack.testing import RunningService, ServedInThread
from pmo_events.runtime.schema import events, idempotency_keys, outbox
from pmo_intake.bootstrap import INTAKE
from pmo_portfolio.bootstrap import PORTFOLIO
from pmo_reporting.bootstrap import REPORTING
from pmo_resourcing.bootstrap import RESOURCING
from pmo_servicekit.access import allow
from pmo_servicekit.auth import Principal, authenticate
from pmo_servicekit.problems import install_problem_handlers
from pmo_servicekit.service import ServiceDefinition

pytestmark = pytest.mark.integration

DEFINITIONS = {d.name: d for d in (INTAKE, PORTFOLIO, RESOURCING, REPORTING)}


@pytest.fixture(scope="module", params=sorted(DEFINITIONS))
def served(
    request: pytest.FixtureRequest,
    postgres_admin_url: str,
    kafka_bootstrap: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[ServedInThread]:
    definition: ServiceDefinition = DEFINITIONS[request.param]
    with served_for_fuzzing(
        definition,
        postgres_admin_url=postgres_admin_url,
        kafka_bootstrap=kafka_bootstrap,
        data_dir=tmp_path_factory.mktemp(f"matrix-{definition.name}"),
    ) as running:
        yield running


def _service(served: ServedInThread) -> RunningService:
    assert served.service is not None
    return served.service


def _headers(service: RunningService, role: str) -> dict[str, str]:
    roles = [role] if role != NO_ROLE else []
    token = service.token(f"matrix-{role or 'nobody'}", *roles)
    return {"Authorization": f"Bearer {token}"}


async def _written(service: RunningService) -> tuple[int, ...]:
    """What a call could have changed: events, the outbox and remembered idempotency keys."""
    async with service.runtime.db.sessions() as session:
        counts = []
        for table in (events, outbox, idempotency_keys):
            counts.append((await session.execute(select(func.count()).select_from(table))).scalar_one())
    return tuple(counts)


@pytest.mark.timeout(1800)  # about a thousand calls for portfolio's operations
def test_every_operation_answers_every_role_as_the_matrix_says(served: ServedInThread) -> None:
    service = _service(served)
    document = httpx.get(f"{service.base_url}/openapi.json", timeout=120).json()
    with httpx.Client(base_url=service.base_url, timeout=10) as client:
        before = served.call(_written)
        refused, refusals = violations(client, document, lambda role: _headers(service, role), allowed=False)
        assert served.call(_written) == before, "a refused call changed something"
        wrong, calls = violations(client, document, lambda role: _headers(service, role), refused=False)
    assert refusals > len(document["paths"]), "the walk refused too little to prove anything"
    assert not refused + wrong, "\n".join(refused + wrong) + f"\n({refusals} refused and {calls} allowed calls)"


def test_a_token_without_a_role_reads_nothing_but_health_and_the_documents(served: ServedInThread) -> None:
    service = _service(served)
    with httpx.Client(base_url=service.base_url, timeout=30, headers=_headers(service, NO_ROLE)) as client:
        for path in ("/health/live", "/health/ready", "/metrics", "/openapi.json"):
            assert client.get(path).status_code == 200, path
        if service.runtime.definition.name == "reporting":
            assert client.get("/console").status_code == 403
            assert client.get(f"/reports/portfolios/{'p'}/board-pack.html").status_code == 403
            viewer = _headers(service, "viewer")
            assert client.get("/console", headers=viewer, follow_redirects=False).status_code != 403


# -- the walk catches an operation that forgets to check ------------------------------------------------


def _app_with_a_forgotten_check() -> FastAPI:
    router = APIRouter()

    @router.get("/things", **allow("viewer"))
    async def read_things() -> dict[str, Any]:
        return {"items": []}

    @router.post("/things", **allow("pmo_analyst"))
    async def create_thing() -> dict[str, Any]:
        return {"id": "t-1"}

    @router.delete("/things/{thing_id}")  # no declaration: anyone signed in deletes
    async def delete_thing(thing_id: str) -> dict[str, Any]:
        return {"deleted": thing_id}

    async def principal(request: Request) -> Principal:
        return Principal("tester", frozenset(request.headers.get("x-roles", "").split()))

    app = FastAPI()
    install_problem_handlers(app)
    app.include_router(router)
    app.dependency_overrides[authenticate] = principal
    return app


def test_the_walk_finds_an_operation_that_forgets_to_check(tmp_path: Path) -> None:
    app = _app_with_a_forgotten_check()
    with TestClient(app) as client:
        found, calls = violations(client, app.openapi(), lambda role: {"x-roles": role})
    assert calls == 3 * 8
    forgotten = [line for line in found if line.startswith("DELETE /things/{thing_id}")]
    assert forgotten and forgotten[0].startswith("DELETE /things/{thing_id} as no role: 200"), found
    assert all("DELETE" in line for line in found), found  # the declared operations answer as declared
