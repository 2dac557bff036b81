"""docs/concepts.md, the map from PMO concept to module in each service, names only what exists; so does
docs/portfolio.md's table of where each concept lives inside the portfolio service.

A row of the map names modules relative to its column's root, `module.py:name` a function, class or
constant defined at the module's top level; a full path (`libs/...`, `services/...`) stands for itself.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CONCEPTS = REPO / "docs" / "concepts.md"
PORTFOLIO_GUIDE = REPO / "docs" / "portfolio.md"
ROOTS = {
    "intake": "services/intake/pmo_intake",
    "portfolio": "services/portfolio/pmo_portfolio",
    "resourcing": "services/resourcing/pmo_resourcing",
    "reporting": "services/reporting/pmo_reporting",
    "events": "libs/events/pmo_events",
}
TICKED = re.compile(r"`([^`]+)`")


def table_rows(text: str) -> list[list[str]]:
    """The cells of the map's table, header first (the separator row left out)."""
    rows = [line.strip().strip("|").split("|") for line in text.splitlines() if line.startswith("| ")]
    return [[cell.strip() for cell in row] for row in rows]


def references(text: str) -> list[str]:
    """Every module the document names, as a repository path, with `:name` where it points inside."""
    header, *rows = table_rows(text)
    found = [
        f"{ROOTS[column]}/{ticked}"
        for row in rows
        for column, cell in zip(header[1:], row[1:], strict=True)
        for ticked in TICKED.findall(cell)
    ]
    return found + [ticked for ticked in TICKED.findall(text) if ticked.startswith(("libs/", "services/"))]


def portfolio_references(text: str) -> list[str]:
    """The modules portfolio.md's "where each concept lives" table names, as repository paths."""
    section = text.split("## Where each concept lives", 1)[1].split("\n## ", 1)[0]
    _header, *rows = table_rows(section)
    found = []
    for _concept, folder, where in rows:
        # a ticked folder (`funding/`) holds the row's modules; words ("the package") mean the package's top level
        inside = folder.strip("`") if folder.startswith("`") else ""
        for ticked in TICKED.findall(where):
            if ticked.endswith(".py"):
                found.append(f"{ROOTS['portfolio']}/{inside}{ticked}")
            elif ticked.startswith("pmo_events."):
                found.append(f"libs/events/{ticked.replace('.', '/')}.py")
    return found


def top_level_names(module: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.parse(module.read_text()).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(target.id for target in node.targets if isinstance(target, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return names


def missing(reference: str) -> str | None:
    """Why `reference` does not hold, or None when it does."""
    path, _, name = reference.partition(":")
    if not (REPO / path).exists():
        return f"{path} does not exist"
    if name and name not in top_level_names(REPO / path):
        return f"{path} defines no {name}"
    return None


def test_the_map_has_a_column_per_service_and_a_row_per_concept() -> None:
    header, *rows = table_rows(CONCEPTS.read_text())
    assert header == ["PMO concept", *ROOTS]
    concepts = [row[0] for row in rows]
    for concept in ("stage gate", "budget envelope", "scenario", "lesson learned", "booking", "fiscal calendar"):
        assert sum(concept in row for row in concepts) == 1, f"{concept!r} is not in exactly one row"


@pytest.mark.parametrize("reference", references(CONCEPTS.read_text()))
def test_every_module_and_name_the_map_gives_exists(reference: str) -> None:
    assert missing(reference) is None, missing(reference)


@pytest.mark.parametrize("reference", portfolio_references(PORTFOLIO_GUIDE.read_text()))
def test_every_module_the_portfolio_guide_gives_exists(reference: str) -> None:
    assert missing(reference) is None, missing(reference)


def test_a_moved_module_or_renamed_rule_is_caught() -> None:
    assert missing("services/portfolio/pmo_portfolio/delivery/domain/gate.py") is not None
    assert missing("services/portfolio/pmo_portfolio/delivery/commands.py:initiate_project") is not None
    assert missing("services/portfolio/pmo_portfolio/delivery/commands.py:initiate_approved_project") is None
