"""`python -m pmo_reporting --help` names the `projections` commands, which are handled before its parser."""

from __future__ import annotations

import subprocess
import sys


def test_help_names_the_projections_commands() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pmo_reporting", "--help"], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "projections list | rebuild NAME [--force]" in " ".join(result.stdout.split())
