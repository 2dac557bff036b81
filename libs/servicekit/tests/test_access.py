"""The per-route access declaration: one source for the 403, the OpenAPI extension and docs/access.md."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel

from pmo_servicekit.access import Ownership, allow, operations, render_matrix, undeclared
from pmo_servicekit.auth import Principal, authenticate
from pmo_servicekit.problems import install_problem_handlers

BOARD = Ownership("portfolio-board", "a member of THIS portfolio's board")


class Body(BaseModel):
    name: str


def _app(roles: list[str]) -> FastAPI:
    router = APIRouter()

    @router.get("/things", **allow("viewer"))
    async def read() -> dict[str, Any]:
        return {"ok": True}

    @router.post("/things", **allow("board_member", "pmo_analyst", owner=BOARD, exempt=["pmo_analyst"]))
    async def write(body: Body) -> dict[str, Any]:
        return {"ok": body.name}

    @router.delete("/things")
    async def forgotten() -> None:
        return None

    app = FastAPI()
    install_problem_handlers(app)
    app.include_router(router)
    app.dependency_overrides[authenticate] = lambda: Principal("alice", frozenset(roles))
    return app


@pytest.mark.parametrize(
    ("roles", "read", "write"),
    [
        ([], 403, 403),  # a token with no role reads nothing
        (["viewer"], 200, 403),
        (["requester"], 200, 403),  # every role includes viewer
        (["pmo_analyst"], 200, 422),  # the role passes; the empty body is what is wrong
        (["board_member", "made_up"], 200, 422),
        (["made_up"], 403, 403),  # an unknown role grants nothing
    ],
)
def test_the_role_check_answers_403_before_the_body_is_read(roles: list[str], read: int, write: int) -> None:
    client = TestClient(_app(roles))
    assert client.get("/things").status_code == read
    answer = client.post("/things", json={})
    assert answer.status_code == write
    if write == 403:
        assert answer.json()["type"].endswith("forbidden")


def test_the_declaration_is_in_the_openapi_document_and_the_matrix() -> None:
    document = _app([]).openapi()
    post = document["paths"]["/things"]["post"]
    assert post["x-required-roles"] == ["pmo_analyst", "board_member"]
    assert post["x-ownership"] == {
        "rule": "portfolio-board",
        "description": BOARD.description,
        "exempt": ["pmo_analyst"],
    }
    assert undeclared(document) == ["DELETE /things"]
    [read, write, _forgotten] = operations(document)
    assert [read.mark(r) for r in ("viewer", "requester", "admin")] == ["yes", "yes", "yes"]
    assert [write.mark(r) for r in ("viewer", "pmo_analyst", "board_member", "admin")] == ["", "yes", "owner", ""]
    matrix = render_matrix({"things": document})
    assert "| `POST /things` |  | " in matrix and "- `portfolio-board`: a member of THIS portfolio's board" in matrix


def test_a_declaration_must_name_known_roles_and_exempt_only_what_it_allows() -> None:
    with pytest.raises(ValueError):
        allow("boss")
    with pytest.raises(ValueError):
        allow("requester", owner=BOARD, exempt=["admin"])
    # the floor includes every role: a read every role may call can exempt the PMO from its rule
    exempt = allow("viewer", owner=BOARD, exempt=["admin"])["openapi_extra"]["x-ownership"]["exempt"]
    assert exempt == ["admin"]
    with pytest.raises(ValueError):
        allow("viewer", exempt=["viewer"])
