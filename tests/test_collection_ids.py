"""The test session's own harness: pytest-xdist runs one test per id, so no two collected tests may share one."""

from __future__ import annotations

import collections
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def test_every_collected_test_has_an_id_of_its_own(request: pytest.FixtureRequest) -> None:
    ids = collections.Counter(item.nodeid for item in request.session.items)
    assert [nodeid for nodeid, count in ids.items() if count > 1] == []


def test_each_fuzzed_operation_is_a_test_with_its_own_id() -> None:
    """Schemathesis' tests of one module, collected on their own: one id per operation, naming it."""
    module = "services/intake/tests/test_openapi_fuzz.py"
    command = [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:xdist", module]
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    fuzzed = [line for line in result.stdout.splitlines() if "::test_no_input_gives_a_server_error" in line]
    assert len(fuzzed) > 5 and len(set(fuzzed)) == len(fuzzed), fuzzed
    assert "services/intake/tests/test_openapi_fuzz.py::test_no_input_gives_a_server_error[POST /proposals]" in fuzzed
