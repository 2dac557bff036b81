"""Test support: one real service on a real port (uvicorn in the test's loop) with real tokens."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import uvicorn

from pmo_devstack.broker import free_port
from pmo_devstack.keys import AUDIENCE, ISSUER, ensure_dev_keys, mint_token
from pmo_events.runtime import KafkaSettings
from pmo_events.runtime.migrate import upgrade
from pmo_servicekit.app import create_app
from pmo_servicekit.service import ServiceDefinition, ServiceRuntime
from pmo_servicekit.settings import ServiceSettings


@dataclass
class RunningService:
    base_url: str
    runtime: ServiceRuntime
    private_key: bytes

    def token(self, subject: str, *roles: str) -> str:
        return mint_token(self.private_key, subject=subject, roles=list(roles))

    def client(self, subject: str | None = None, *roles: str) -> httpx.AsyncClient:
        """An HTTP client for this service, authenticated as `subject` with `roles` when given."""
        headers = {"Authorization": f"Bearer {self.token(subject, *roles)}"} if subject else {}
        return httpx.AsyncClient(base_url=self.base_url, headers=headers, timeout=30)


@asynccontextmanager
async def running_service(
    definition: ServiceDefinition,
    *,
    database_url: str,
    kafka_bootstrap: str,
    data_dir: Path,
    **settings_overrides: object,
) -> AsyncIterator[RunningService]:
    """Migrate the database, then serve the app over HTTP on a free port until the block ends."""
    private_path, public_path = ensure_dev_keys(data_dir)
    await asyncio.to_thread(upgrade, database_url, definition.migrations, definition.metadata)
    settings = ServiceSettings(
        env="development",
        data_dir=data_dir,
        database_url=database_url,
        auth_public_key_file=public_path,
        auth_issuer=ISSUER,
        auth_audience=AUDIENCE,
        **settings_overrides,  # type: ignore[arg-type]
    )
    app = create_app(definition, settings, KafkaSettings(bootstrap_servers=kafka_bootstrap))
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.02)
    try:
        yield RunningService(f"http://127.0.0.1:{port}", app.state.runtime, private_path.read_bytes())
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 30)


async def eventually(check, timeout: float = 20.0, interval: float = 0.05):  # type: ignore[no-untyped-def]
    """Poll `check` (sync or async) until it returns something truthy; return that value."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    last = None
    while loop.time() < deadline:
        last = check()
        if asyncio.iscoroutine(last):
            last = await last
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s (last: {last!r})")
