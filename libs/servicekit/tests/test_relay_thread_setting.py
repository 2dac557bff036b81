"""`PMO_RELAY_THREAD`: the outbox relay runs on a thread and loop of its own only when asked, and only on
PostgreSQL (SQLite keeps one writer at a time on the service's loop); `PMO_REBUILD_WORKERS`: a reporting rebuild
stays in one process unless more are asked."""

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


@pytest.mark.parametrize(("asked", "processes"), [(None, 1), (1, 1), (3, 3)])
def test_a_rebuild_stays_in_one_process_unless_more_are_asked(
    asked: int | None, processes: int, tmp_path: Path
) -> None:
    """`PMO_REBUILD_WORKERS`: 1 by default (two processes bought no wall time on two idle cores, 2026-12-01)."""
    more: dict[str, Any] = {} if asked is None else {"rebuild_workers": asked}
    assert ServiceSettings(env="development", data_dir=tmp_path, **more).rebuild_processes == processes


def test_rebuild_workers_zero_asks_for_the_pods_cpus(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("pmo_servicekit.settings.pod_cpus", lambda: 6)
    assert ServiceSettings(env="development", data_dir=tmp_path, rebuild_workers=0).rebuild_processes == 6
