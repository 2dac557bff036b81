"""Schemathesis against the portfolio's OpenAPI on a real server (PostgreSQL, the broker): no input gives a 5xx."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig

from pmo_devstack.testing import RunningService, running_service
from pmo_events.runtime import KafkaSettings
from pmo_portfolio.bootstrap import PORTFOLIO
from pmo_servicekit.app import create_app
from pmo_servicekit.settings import ServiceSettings

from .api_support import isolated, new_portfolio, register, weighted_model

pytestmark = pytest.mark.integration


class ServedInThread:
    """The service in its own thread and event loop, so synchronous Hypothesis tests can call it."""

    def __init__(self, database_url: str, kafka_bootstrap: str, data_dir: Path) -> None:
        self._args = (database_url, kafka_bootstrap, data_dir)
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.service: RunningService | None = None
        self.portfolio_id = ""
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)

    async def _main(self) -> None:
        self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
        database_url, kafka_bootstrap, data_dir = self._args
        try:
            async with running_service(
                isolated(f"fuzz{uuid.uuid4().hex[:8]}"),
                database_url=database_url,
                kafka_bootstrap=kafka_bootstrap,
                data_dir=data_dir,
            ) as service:
                self.portfolio_id = (await new_portfolio(service, ["fuzzer"]))["id"]
                await weighted_model(service, self.portfolio_id)
                await register(service, self.portfolio_id, "p-1")
                await approved_project(service, self.portfolio_id, "project-1")
                self.service = service
                self._ready.set()
                await self._stop.wait()
        except BaseException as exc:
            self.error = exc
            self._ready.set()

    def __enter__(self) -> ServedInThread:
        self._thread.start()
        self._ready.wait(120)
        if self.service is None:
            raise RuntimeError("the portfolio service did not start") from self.error
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._loop is not None and self._stop is not None
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(60)


async def approved_project(service: RunningService, portfolio_id: str, project_id: str) -> None:
    """A project to deliver, so the delivery endpoints reach their rules."""
    await register(service, portfolio_id, project_id)
    body = {"candidate_id": project_id, "outcome": "approve", "rationale": "fuzz",
            "approved_budget": [{"fiscal_period": "2027", "amount": "100"}]}  # fmt: skip
    async with service.client("fuzzer", "board_member") as board:
        assert (await board.post(f"/portfolios/{portfolio_id}/decisions", json=body)).status_code == 201


def _fresh_database(admin_url: str) -> str:
    async def create() -> str:
        name = f"pmo_test_{uuid.uuid4().hex[:12]}"
        conn = await asyncpg.connect(admin_url)
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()
        return name

    name = asyncio.run(create())
    return f"{admin_url.rsplit('/', 1)[0]}/{name}".replace("postgresql://", "postgresql+asyncpg://", 1)


@pytest.fixture(scope="module")
def served(postgres_admin_url: str, kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    database_url = _fresh_database(postgres_admin_url)
    with ServedInThread(database_url, kafka_bootstrap, tmp_path_factory.mktemp("fuzz")) as running:
        yield running


def _openapi() -> dict[str, Any]:
    settings = ServiceSettings(env="development", database_url="sqlite+aiosqlite:///:memory:")
    return create_app(PORTFOLIO, settings, KafkaSettings()).openapi()


OPENAPI = _openapi()
FUZZ_CONFIG = SchemathesisConfig.from_dict({"phases": {"coverage": {"enabled": False}}})
schema = schemathesis.openapi.from_dict(OPENAPI, config=FUZZ_CONFIG)


@schema.parametrize()
@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_input_gives_a_server_error(case, served) -> None:  # type: ignore[no-untyped-def]
    """As an analyst on the board of a real portfolio, so requests reach the domain rules."""
    service: RunningService = served.service
    headers = {"Authorization": f"Bearer {service.token('fuzzer', 'pmo_analyst', 'board_member', 'project_manager')}"}
    if case.path_parameters and "portfolio_id" in case.path_parameters:
        case.path_parameters["portfolio_id"] = served.portfolio_id
    if case.path_parameters and "candidate_id" in case.path_parameters:
        case.path_parameters["candidate_id"] = "p-1"
    if case.path_parameters and "project_id" in case.path_parameters:
        case.path_parameters["project_id"] = "project-1"
    case.call_and_validate(base_url=service.base_url, headers=headers, checks=[not_a_server_error])
    assert httpx.get(f"{service.base_url}/health/live").status_code == 200
