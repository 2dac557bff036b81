"""Schemathesis against intake's OpenAPI on a real server (PostgreSQL, the broker): no input gives a 5xx."""

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
from schemathesis.specs.openapi.checks import response_schema_conformance

from pmo_devstack.testing import RunningService
from pmo_events.runtime import KafkaSettings
from pmo_intake.bootstrap import INTAKE
from pmo_servicekit.app import create_app
from pmo_servicekit.settings import ServiceSettings

from .support import intake_service

pytestmark = [
    pytest.mark.integration,
    # Schemathesis itself draws from `random` inside its strategies; not ours to fix.
    pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisDeprecationWarning"),
]


class ServedInThread:
    """The intake service in its own thread and event loop, so synchronous Hypothesis tests can call it."""

    def __init__(self, database_url: str, kafka_bootstrap: str, data_dir: Path) -> None:
        self._args = (database_url, kafka_bootstrap, data_dir)
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.service: RunningService | None = None
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)

    async def _main(self) -> None:
        self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
        try:
            async with intake_service(*self._args) as service:
                self.service = service
                self._ready.set()
                await self._stop.wait()
        except BaseException as exc:
            self.error = exc
            self._ready.set()

    def __enter__(self) -> RunningService:
        self._thread.start()
        self._ready.wait(120)
        if self.service is None:
            raise RuntimeError("intake did not start") from self.error
        return self.service

    def __exit__(self, *exc: object) -> None:
        assert self._loop is not None and self._stop is not None
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(60)


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
def served_intake(
    postgres_admin_url: str, kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningService]:
    database_url = _fresh_database(postgres_admin_url)
    with ServedInThread(database_url, kafka_bootstrap, tmp_path_factory.mktemp("fuzz")) as service:
        yield service


def _intake_openapi() -> dict[str, Any]:
    """The intake app's own OpenAPI document (building the app does no I/O)."""
    settings = ServiceSettings(env="development", database_url="sqlite+aiosqlite:///:memory:")
    return create_app(INTAKE, settings, KafkaSettings()).openapi()


OPENAPI = _intake_openapi()
#: Examples and fuzzing (positive and negative data); the exhaustive coverage phase would take minutes.
FUZZ_CONFIG = SchemathesisConfig.from_dict({"phases": {"coverage": {"enabled": False}}})
schema = schemathesis.openapi.from_dict(OPENAPI, config=FUZZ_CONFIG)


def test_the_fuzzed_document_is_the_one_the_service_serves(served_intake: RunningService) -> None:
    assert httpx.get(f"{served_intake.base_url}/openapi.json").json() == OPENAPI


@schema.parametrize()
@settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_input_gives_a_server_error(case, served_intake: RunningService) -> None:  # type: ignore[no-untyped-def]
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
