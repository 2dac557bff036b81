"""A service's command line with a missing or wrong setting, or an unmigrated database, says what to do and exits 2
(no traceback)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pmo_intake.bootstrap import INTAKE
from pmo_portfolio.bootstrap import PORTFOLIO
from pmo_servicekit.cli import main


def test_a_production_start_without_its_secrets_names_what_is_missing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PMO_ENV", "production")
    for name in ("PMO_AUTH_PUBLIC_KEY", "PMO_AUTH_PUBLIC_KEY_FILE", "PMO_AUTH_JWKS_URL", "PMO_AUTH_ISSUER"):
        monkeypatch.delenv(name, raising=False)
    assert main(INTAKE, ["migrate"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("pmo-intake: cannot start: refusing a production start")
    assert "PMO_AUTH_ISSUER" in err and "Traceback" not in err


def test_a_wrong_value_names_its_variable(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("PMO_ENV", "development")
    monkeypatch.setenv("PMO_HTTP_WORKERS", "0")
    monkeypatch.setenv("PMO_SWEEP_EVERY_SECONDS", "inf")
    assert main(INTAKE, ["sweep"]) == 2
    err = capsys.readouterr().err
    assert "PMO_HTTP_WORKERS: " in err and "PMO_SWEEP_EVERY_SECONDS: " in err


def test_a_sweep_on_a_database_never_migrated_says_to_migrate_then_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PMO_ENV", "development")
    monkeypatch.setenv("PMO_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'portfolio.db'}")
    assert main(PORTFOLIO, ["sweep"]) == 2
    err = capsys.readouterr().err
    assert "the database is not migrated" in err and "python -m pmo_portfolio migrate" in err
    assert "Traceback" not in err
    assert main(PORTFOLIO, ["migrate"]) == 0
    assert main(PORTFOLIO, ["sweep", "lapse-due"]) == 0
