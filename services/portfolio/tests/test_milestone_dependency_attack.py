"""Attack review of dependencies on a programme milestone (issue 16): a programme of another portfolio, a
tranche of another programme and a cycle that runs through project dependencies into a milestone are each
refused with a 4xx naming what is wrong, and record nothing."""

from __future__ import annotations

import pytest

from .api_support import new_portfolio
from .test_api_milestone_dependencies import BUDGET, FOUNDATIONS, a_programme, on_milestone
from .test_api_programmes import programme

pytestmark = pytest.mark.integration


async def test_a_foreign_programme_or_tranche_and_a_long_cycle_are_refused(service) -> None:
    async with (
        service.client("ann", "pmo_analyst") as ann,
        service.client("bea", "board_member") as bea,
        service.client("paul", "viewer") as paul,
    ):
        portfolio, programme_id = await a_programme(service, ann, bea)
        other_portfolio = (await new_portfolio(service, ["bea"], budget=BUDGET))["id"]
        other_programme = (await ann.post("/programmes", json=programme(other_portfolio))).json()["id"]
        sibling = (await ann.post("/programmes", json=programme(portfolio, "100"))).json()["id"]
        url = f"/portfolios/{portfolio}/dependencies"
        t1 = (await paul.post(f"/programmes/{programme_id}/tranches", json=FOUNDATIONS)).json()["tranches"][0][
            "tranche_id"
        ]
        empty = {**FOUNDATIONS, "project_ids": []}
        other_t1 = (await paul.post(f"/programmes/{other_programme}/tranches", json=empty)).json()["tranches"][0][
            "tranche_id"
        ]
        sibling_t1 = (await paul.post(f"/programmes/{sibling}/tranches", json=empty)).json()["tranches"][0][
            "tranche_id"
        ]
        refused = [
            (await ann.post(url, json=on_milestone("p-web", other_programme, other_t1)), "programme_id"),
            (await ann.post(url, json=on_milestone("p-web", programme_id, other_t1)), "tranche_id"),
            (await ann.post(url, json=on_milestone("p-web", programme_id, sibling_t1)), "tranche_id"),
        ]
        for answer, field in refused:
            assert 400 <= answer.status_code < 500, answer.text
            assert field in answer.text, answer.text
        # p-edge needs p-web, p-web needs the end of Foundations (p-core's tranche): p-core needing p-edge loops
        edge = {"dependent_project_id": "p-edge", "provider_project_id": "p-web", "needed": "x",
                "need_date": "2026-07-31"}  # fmt: skip
        assert (await ann.post(url, json=edge)).status_code == 201
        assert (await ann.post(url, json=on_milestone("p-web", programme_id, t1))).status_code == 201
        before = (await ann.get(url)).json()["items"]
        core = {"dependent_project_id": "p-core", "provider_project_id": "p-edge", "needed": "x",
                "need_date": "2026-07-31"}  # fmt: skip
        loop = await ann.post(url, json=core)
        assert loop.status_code == 409, loop.text
        assert (await ann.get(url)).json()["items"] == before
        assert (await ann.get(f"/portfolios/{other_portfolio}/dependencies")).json()["items"] == []
