"""`PMO_HTTP_WORKERS`: several worker processes on PostgreSQL, one on SQLite, each worker importing the definition."""

from __future__ import annotations

from pathlib import Path

import pytest

from pmo_intake.bootstrap import INTAKE
from pmo_servicekit.cli import _import_path, _workers, worker_app
from pmo_servicekit.settings import ServiceSettings


def test_sqlite_runs_one_worker_whatever_is_asked(tmp_path: Path) -> None:
    settings = ServiceSettings(env="development", data_dir=tmp_path, http_workers=4)
    assert _workers(INTAKE, settings) == 1


def test_postgresql_runs_the_workers_asked_for() -> None:
    settings = ServiceSettings(env="development", database_url="postgresql+asyncpg://pmo@db/intake", http_workers=2)
    assert _workers(INTAKE, settings) == 2


def test_a_worker_builds_the_app_of_the_service_it_was_started_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _import_path(INTAKE) == "pmo_intake.bootstrap:INTAKE"
    monkeypatch.setenv("PMO_SERVICE_DEFINITION", _import_path(INTAKE))
    monkeypatch.setenv("PMO_ENV", "development")
    monkeypatch.setenv("PMO_DATA_DIR", str(tmp_path))
    app = worker_app()
    assert INTAKE.title in app.title
    assert "/proposals" in app.openapi()["paths"]


def test_zero_workers_is_refused() -> None:
    with pytest.raises(ValueError, match="http_workers"):
        ServiceSettings(env="development", http_workers=0)
