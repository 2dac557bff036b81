"""Programmes over real HTTP with real tokens, on SQLite and PostgreSQL: ring-fence, joining, tranches, roll-up."""

from __future__ import annotations

from datetime import date
from typing import Any

import httpx
import pytest

from pmo_devstack.testing import RunningService
from pmo_events.contracts.common import Timeline

from .api_support import above_request, new_portfolio, register

pytestmark = pytest.mark.integration

YEAR_2026 = Timeline(start=date(2026, 1, 1), end=date(2026, 12, 31))
BUDGET = [{"fiscal_period": "FY2026", "amount": "1000.00"}]


def programme(portfolio_id: str, ring_fence: str = "600") -> dict[str, Any]:
    return {
        "portfolio_id": portfolio_id,
        "name": "Digital journey",
        "vision": "Every customer served online",
        "senior_responsible_owner": "sara",
        "programme_manager": "paul",
        "ring_fence": [{"fiscal_period": "FY2026", "amount": ring_fence}],
    }


async def decide(
    bea: httpx.AsyncClient, portfolio_id: str, project_id: str, amount: str, **extra: Any
) -> httpx.Response:
    body = {
        "candidate_id": project_id,
        "outcome": "approved",
        "rationale": "fits the strategy",
        "approved_budget": [{"fiscal_period": "FY2026", "amount": amount}],
        "override_reason": "scoring waived for the test",
        **extra,
    }
    return await bea.post(f"/portfolios/{portfolio_id}/decisions", json=body)


async def candidates(service: RunningService, portfolio_id: str, *project_ids: str) -> None:
    for project_id in project_ids:
        await register(service, portfolio_id, project_id, timeline=YEAR_2026)


async def test_a_programme_holds_a_ring_fence_its_projects_draw_on(service) -> None:
    portfolio = (await new_portfolio(service, ["bea"], budget=BUDGET))["id"]
    await candidates(service, portfolio, "p-one", "p-two", "p-three")
    async with (
        service.client("ann", "pmo_analyst") as ann,
        service.client("bea", "board_member") as bea,
        service.client("paul", "viewer") as paul,
        service.client("sara", "viewer") as sara,
    ):
        too_big = await ann.post("/programmes", json=programme(portfolio, "1000.01"))
        assert too_big.status_code == 409 and too_big.json()["type"] == "urn:pmo:problem:envelope-exceeded"
        assert too_big.json()["fiscal_period"] == "FY2026"
        created = await ann.post("/programmes", json=programme(portfolio))
        assert created.status_code == 201, created.text
        url = created.headers["location"]
        assert created.headers["etag"] == '"1"' and url == f"/programmes/{created.json()['id']}"
        programme_id = created.json()["id"]
        # a second programme may hold only what the first leaves of the envelope
        second = await ann.post("/programmes", json=programme(portfolio, "400.01"))
        assert second.status_code == 409 and second.json()["remaining"] == "400.00"

        # joining at approval: the decision names the programme
        approved = await decide(bea, portfolio, "p-one", "400", programme_id=programme_id, **above_request("400"))
        assert approved.status_code == 201, approved.text
        assert approved.json()["programme_id"] == programme_id
        # the ring-fence refuses an approval it cannot hold, and nothing is recorded
        refused = await decide(bea, portfolio, "p-three", "201", programme_id=programme_id)
        assert refused.status_code == 409 and refused.json()["type"] == "urn:pmo:problem:ring-fence-exceeded"
        assert (refused.json()["remaining"], refused.json()["asked"]) == ("200", "201")
        assert (await bea.get("/projects/p-three")).status_code == 404
        unknown = await decide(bea, portfolio, "p-three", "1", programme_id="nope")
        assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "programme_id"

        # joining later by decision, with a rationale, by the programme manager
        assert (await decide(bea, portfolio, "p-two", "150")).status_code == 201
        join = {"project_id": "p-two", "rationale": "serves the same customers"}
        assert (await bea.post(f"{url}/projects", json=join)).status_code == 403
        joined = await paul.post(f"{url}/projects", json=join)
        assert joined.status_code == 200, joined.text
        assert joined.json()["ring_fence"] == [
            {"fiscal_period": "FY2026", "ring_fence": "600.00", "drawn": "550.00", "remaining": "50.00"}
        ]
        assert (await paul.post(f"{url}/projects", json=join)).status_code == 409  # already in it

        # tranches: planned by the programme manager, reviewed by the SRO, in order
        tranche = {"name": "Foundations", "start": "2026-01-01", "end": "2026-06-30", "project_ids": ["p-one"]}
        planned = await paul.post(f"{url}/tranches", json=tranche)
        assert planned.status_code == 200, planned.text
        [first] = planned.json()["tranches"]
        overlapping = {**tranche, "name": "Scale", "start": "2026-06-30", "end": "2026-12-31"}
        assert (await paul.post(f"{url}/tranches", json=overlapping)).json()["errors"][0]["field"] == "start"
        review = f"{url}/tranches/{first['tranche_id']}/review"
        assert (await paul.post(review, json={"decision": "continue", "rationale": "done"})).status_code == 403
        replan = await sara.post(review, json={"decision": "re_plan", "rationale": "slipped"})
        assert replan.json()["tranches"][0]["status"] == "re_plan"
        again = await paul.put(f"{url}/tranches/{first['tranche_id']}", json={**tranche, "end": "2026-07-31"})
        assert again.json()["tranches"][0]["status"] == "open"
        closed = await sara.post(review, json={"decision": "continue", "rationale": "foundations delivered"})
        assert closed.status_code == 200 and closed.json()["tranches"][0]["decided_by"] == "sara"

        # status: rolled up from the projects, and the programme manager's own report
        async with service.client("pam", "project_manager") as pam:
            report = {"period_end": "2026-06-30", "percent_complete": "40", "actual_cost": "200", "summary": "ok"}
            assert (await pam.post("/projects/p-one/status-reports", json=report)).status_code == 201
            assert (await pam.post("/projects/p-two/status-reports", json=report)).status_code == 201
        status = {"period_end": "2026-06-30", "rag": {"overall": "amber"}, "summary": "tranche 1 re-planned"}
        assert (await paul.post(f"{url}/status-reports", json=status)).status_code == 200
        read = await paul.get(url)
        assert read.status_code == 200 and read.headers["etag"] == f'"{read.json()["version"]}"'
        rollup = read.json()["status_rollup"]
        assert rollup["projects_reporting"] == 2 and rollup["worst_rag"] in ("green", "amber", "red")
        assert (rollup["evm"]["bac"], rollup["evm"]["ac"]) == ("550.00", "400.00")
        assert rollup["evm"]["ev"] == "220.00"  # 40% of 400 + 40% of 150
        assert rollup["manager_report"]["rag"]["overall"] == "amber"
        assert rollup["projects_by_status"] == [{"status": "active", "count": 2}]

        listed = (await paul.get("/programmes", params={"portfolio_id": portfolio})).json()
        assert [p["id"] for p in listed["items"]] == [programme_id] and listed["next_cursor"] is None
        closing = await sara.post(
            review.replace(first["tranche_id"], "nope"), json={"decision": "continue", "rationale": "x"}
        )
        assert closing.status_code == 404


async def test_the_envelope_is_not_lowered_below_what_programmes_ring_fence(service) -> None:
    """Programme creation keeps ring-fences within the envelope; lowering the envelope must too, or a
    programme holds a share of money the portfolio no longer has (found by the attacker's pass)."""
    portfolio = (await new_portfolio(service, ["bea"], budget=BUDGET))["id"]
    async with service.client("ann", "pmo_analyst") as ann:
        assert (await ann.post("/programmes", json=programme(portfolio, "600"))).status_code == 201
        before = (await ann.get(f"/portfolios/{portfolio}")).json()
        lowered = await ann.put(
            f"/portfolios/{portfolio}/budget", json={"budget": [{"fiscal_period": "FY2026", "amount": "599.99"}]}
        )
        assert lowered.status_code == 409, lowered.text
        problem = lowered.json()
        assert problem["type"] == "urn:pmo:problem:envelope-exceeded" and problem["fiscal_period"] == "FY2026"
        assert "ring-fenced" in problem["detail"] and "EUR 600.00" in problem["detail"]
        # a period dropped from the envelope altogether is lowered to nothing
        dropped = await ann.put(
            f"/portfolios/{portfolio}/budget", json={"budget": [{"fiscal_period": "FY2027", "amount": "5000.00"}]}
        )
        assert dropped.status_code == 409 and dropped.json()["fiscal_period"] == "FY2026"
        assert (await ann.get(f"/portfolios/{portfolio}")).json() == before  # nothing changed
        kept = await ann.put(
            f"/portfolios/{portfolio}/budget", json={"budget": [{"fiscal_period": "FY2026", "amount": "600.00"}]}
        )
        assert kept.status_code == 200, kept.text
