"""Resourcing's real app answers every request the same with `FlatRoute` as with FastAPI's own route handler
(`pmo_devstack.flat_routes`: every operation of its OpenAPI document with each kind of token, body, path parameter
and bad query; the same status, body and headers, ids and times normalised; the same OpenAPI document)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from pmo_devstack.flat_routes import answers
from pmo_resourcing.bootstrap import RESOURCING

pytestmark = pytest.mark.integration


def _prepare(client: TestClient, tokens: dict[str, str | None]) -> dict[str, str]:
    """A real resource, so requests on `/resources/{resource_id}` reach more than 404."""
    made = client.post(
        "/resources",
        json={"name": "Ana", "kind": "person", "role": "developer"},
        headers={"Authorization": tokens["resource_manager"] or ""},
    )
    assert made.status_code == 201, made.text
    return {"resource_id": made.json()["id"]}


def test_resourcing_answers_alike_with_flat_routes_and_fastapis_own(tmp_path: Path) -> None:
    (tmp_path / "flat").mkdir()
    (tmp_path / "plain").mkdir()
    flat_openapi, flat, flat_solved, flat_spans = answers(RESOURCING, tmp_path / "flat", flat=True, prepare=_prepare)
    plain_openapi, plain, plain_solved, _ = answers(RESOURCING, tmp_path / "plain", flat=False, prepare=_prepare)
    assert not flat_solved, "the flat app never walks FastAPI's dependency tree, with a global tracer provider set"
    assert flat_spans == 0, "FastAPI's own telemetry is off in create_app's apps"
    assert plain_solved.total() > 500, "the plain app does: the comparison is between the two handlers"
    assert flat_openapi == plain_openapi
    assert len(flat) == len(plain) > 500
    differing = [(x[0], x[1], y[1], x[2], y[2]) for x, y in zip(flat, plain, strict=True) if x[1:] != y[1:]]
    assert differing == [], differing[:5]
    statuses = Counter(x[1] for x in flat)
    assert not [x[0] for x in flat if x[1] >= 500], "no input may produce a 5xx"
    assert {200, 201, 401, 403, 404, 422} <= set(statuses), statuses
