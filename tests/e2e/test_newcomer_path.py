"""A newcomer's path against the embedded stack as processes: the README's walkthrough run verbatim (its
first bash block), and `make demo`'s loader run twice: the second run recognises its data.

A newcomer pastes that block into a terminal while `make run` runs; here the same text runs in bash
with the stack on free ports (the block reads them from INTAKE, PORTFOLIO, ... when set) and
`set -euo pipefail`, so any failing step fails the test. The block waits by itself where the system
is eventually consistent; the test only bounds how long.
"""

from __future__ import annotations

import collections
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from pmo_devstack.broker import free_port
from pmo_devstack.demo import load
from pmo_devstack.keys import dev_key_paths, mint_token
from pmo_devstack.stack import SERVICES, Stack

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]


def walkthrough() -> str:
    """The first fenced bash block of README.md, exactly as written."""
    found = re.search(r"^```bash\n(.*?)^```$", (REPO / "README.md").read_text(), re.S | re.M)
    assert found, "README.md has no ```bash block"
    return found.group(1)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    logs: collections.deque[str] = collections.deque(maxlen=300)
    ports = {name: free_port() for name in SERVICES}
    running = Stack(tmp_path_factory.mktemp("readme"), ports=ports, log=logs.append)
    try:
        running.start()
    except Exception:
        print("\n".join(logs))
        raise
    yield running
    running.stop()


def test_the_readme_walkthrough_runs_verbatim(stack: Stack) -> None:
    assert shutil.which("jq") and shutil.which("curl"), "the walkthrough needs curl and jq (`make tools`)"
    env = {
        **os.environ,
        "PMO_DATA_DIR": str(stack.data_dir),  # `make -s token` signs with this stack's dev key
        **{name.upper(): stack.url(name).removeprefix("http://") for name in SERVICES},
    }
    result = subprocess.run(
        ["bash", "-c", "set -euo pipefail\n" + walkthrough()],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    lines = result.stdout.splitlines()
    assert '"decided_by":"bob"' in output and '"rationale":"strong case"' in output, output
    types = [line for line in lines if line.startswith("pmo.")]
    for expected in ("ProposalSubmitted", "InvestmentDecided", "ProposalApproved", "ProjectInitiated", "DemandRaised"):
        assert any(f".{expected}." in t for t in types), f"{expected} missing from the history: {types}"


def _counts(stack: Stack) -> dict[str, int]:
    token = mint_token(dev_key_paths(stack.data_dir)[0].read_bytes(), subject="auditor", roles=["viewer"])
    headers = {"Authorization": f"Bearer {token}"}
    paths = {
        "portfolios": ("portfolio", "/portfolios"),
        "objectives": ("portfolio", "/objectives"),
        "proposals": ("intake", "/proposals"),
        "resources": ("resourcing", "/resources"),
        "allocations": ("resourcing", "/allocations"),
    }
    counts = {}
    for what, (service, path) in paths.items():
        answer = httpx.get(stack.url(service) + path, params={"limit": 100}, headers=headers, timeout=30)
        assert answer.status_code == 200, answer.text
        counts[what] = len(answer.json()["items"])
    return counts


def test_the_demo_loads_once_and_a_second_run_records_nothing_new(stack: Stack) -> None:
    urls = {name: stack.url(name) for name in SERVICES}
    first = load(urls, stack.data_dir)
    after_first = _counts(stack)
    second = load(urls, stack.data_dir)
    assert _counts(stack) == after_first
    assert not any("already loaded" in line for line in first)
    assert any("already loaded" in line for line in second), second
    tries = [line for line in second if line.startswith("  curl ")]
    assert len(tries) == 3, second
