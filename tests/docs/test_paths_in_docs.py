"""The README and docs/ name only files and folders that exist, so a page cannot keep pointing at a module
a change moved or renamed (the portfolio's regrouping left such pointers behind)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
#: Where a path names the repository from its root. docs/ pages also name `tests/...` of the service they
#: describe (relative to it), so `tests/` counts from the root only in the README.
ROOTED = ("services/", "libs/", "deploy/", "examples/", "tools/", "docs/")
TICKED = re.compile(r"`([^`\s]+)`")


def named_paths(page: Path) -> list[str]:
    """Each repository path `page` names in backticks (without a `:name` suffix); patterns are not paths."""
    rooted = (*ROOTED, "tests/") if page.name == "README.md" else ROOTED
    found = []
    for ticked in TICKED.findall(page.read_text()):
        path = ticked.split(":", 1)[0].split("#", 1)[0]
        if path.startswith(rooted) and not any(mark in path for mark in "*<>{}$"):
            found.append(path)
    return found


@pytest.mark.parametrize(
    ("page", "path"), [(page.relative_to(REPO).as_posix(), path) for page in PAGES for path in named_paths(page)]
)
def test_every_path_a_page_names_exists(page: str, path: str) -> None:
    assert (REPO / path).exists(), f"{page} names {path}, which does not exist"


def test_a_moved_module_is_caught(tmp_path: Path) -> None:
    page = tmp_path / "README.md"
    page.write_text("see `services/portfolio/pmo_portfolio/domain/reporting.py:StatusReport` and `libs/*/tests`")
    assert named_paths(page) == ["services/portfolio/pmo_portfolio/domain/reporting.py"]
    assert not (REPO / named_paths(page)[0]).exists()
