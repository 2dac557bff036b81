"""`PMO_RELAY_THREAD`: the outbox relay runs on a thread and loop of its own only when asked, and only on
PostgreSQL (SQLite keeps one writer at a time on the service's loop)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pmo_events.runtime import KafkaSettings, OutboxRelay
from pmo_events.runtime.relay import RelayThread
from pmo_intake.bootstrap import INTAKE
from pmo_servicekit.service import ServiceRuntime
from pmo_servicekit.settings import ServiceSettings

POSTGRES = "postgresql+asyncpg://pmo@db/intake"  # never connected: building the runtime does no I/O


@pytest.mark.parametrize(("asked", "threaded"), [(None, False), (False, False), (True, True)])
async def test_the_relay_has_its_own_thread_on_postgresql_only_when_asked(
    asked: bool | None, threaded: bool, tmp_path: Path
) -> None:
    more: dict[str, Any] = {} if asked is None else {"relay_thread": asked}
    runtime = ServiceRuntime(
        INTAKE, ServiceSettings(env="development", data_dir=tmp_path, database_url=POSTGRES, **more), KafkaSettings()
    )
    try:
        assert isinstance(runtime.relay, RelayThread) is threaded
        assert isinstance(runtime.relay, OutboxRelay) is not threaded
    finally:
        await runtime.db.dispose()


async def test_sqlite_keeps_the_relay_on_the_service_loop_even_when_asked(tmp_path: Path) -> None:
    runtime = ServiceRuntime(
        INTAKE, ServiceSettings(env="development", data_dir=tmp_path, relay_thread=True), KafkaSettings()
    )
    try:
        assert isinstance(runtime.relay, OutboxRelay)
    finally:
        await runtime.db.dispose()
