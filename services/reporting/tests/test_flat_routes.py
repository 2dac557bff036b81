"""Reporting's real app answers every request of its documented API the same with `FlatRoute` as with FastAPI's
own route handler (`pmo_devstack.flat_routes`: every operation of its OpenAPI document with each kind of token,
path parameter and bad query; the same status, body and headers, ids and times normalised; the same OpenAPI
document). The console's pages (not in the document) keep FastAPI's route class; the board pack's PDF and HTML
(a custom response class) are answered by FastAPI's handler."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from pmo_devstack.flat_routes import answers
from pmo_reporting.bootstrap import REPORTING

pytestmark = pytest.mark.integration
PACKS = ("pdf", "html")


def test_reporting_answers_alike_with_flat_routes_and_fastapis_own(tmp_path: Path) -> None:
    (tmp_path / "flat").mkdir()
    (tmp_path / "plain").mkdir()
    flat_openapi, flat, flat_solved, flat_spans = answers(REPORTING, tmp_path / "flat", flat=True)
    plain_openapi, plain, plain_solved, _ = answers(REPORTING, tmp_path / "plain", flat=False)
    # Only the board pack's PDF and HTML (a custom response class, which FlatRoute leaves to FastAPI's handler)
    # walk FastAPI's dependency tree, with a global tracer provider set as under `serve`.
    assert set(flat_solved) == {f"GET /reports/portfolios/{{portfolio_id}}/board-pack.{kind}" for kind in PACKS}
    assert flat_spans == 0, "FastAPI's own telemetry is off in create_app's apps"
    assert plain_solved.total() > 300, "the plain app does: the comparison is between the two handlers"
    assert flat_openapi == plain_openapi
    assert len(flat) == len(plain) > 300
    differing = [(x[0], x[1], y[1], x[2][:300], y[2][:300]) for x, y in zip(flat, plain, strict=True) if x[1:] != y[1:]]
    assert differing == [], differing[:5]
    statuses = Counter(x[1] for x in flat)
    assert not [x[0] for x in flat if x[1] >= 500], "no input may produce a 5xx"
    assert {200, 401, 403, 422} <= set(statuses), statuses
