"""docs/access.md is the matrix the code declares, and every operation of the four services declares one."""

from __future__ import annotations

from pathlib import Path

import pytest

from pmo_servicekit.access import operations, render_matrix, undeclared

from .openapi_documents import SERVICES, generated

ACCESS = Path(__file__).resolve().parents[2] / "docs" / "access.md"
GENERATED = generated()


def test_docs_access_md_is_the_matrix_the_code_declares() -> None:
    assert ACCESS.exists(), "docs/access.md is missing: run `make contracts`"
    assert ACCESS.read_text() == render_matrix(GENERATED), "docs/access.md is stale: run `make contracts`"


@pytest.mark.parametrize("service", SERVICES)
def test_every_operation_declares_who_may_call_it(service: str) -> None:
    assert undeclared(GENERATED[service]) == []
    assert operations(GENERATED[service]), f"{service} has no operations"
