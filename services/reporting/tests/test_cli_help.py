"""`python -m pmo_reporting --help` names the `projections` commands, which are handled before its parser, and those
commands refuse a wrong setting as every service's CLI does (one line, exit 2)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def test_help_names_the_projections_commands() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pmo_reporting", "--help"], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "projections list | rebuild NAME... [--force]" in " ".join(result.stdout.split())


def test_projections_with_a_wrong_setting_says_which_in_one_line_and_exits_2(tmp_path: Path) -> None:
    env = {**os.environ, "PMO_ENV": "development", "PMO_DATA_DIR": str(tmp_path), "PMO_REBUILD_WORKERS": "-1"}
    env.pop("PMO_DATABASE_URL", None)
    result = subprocess.run(
        [sys.executable, "-m", "pmo_reporting", "projections", "list"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=env,
    )
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("pmo-reporting: cannot start: PMO_REBUILD_WORKERS: "), result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
