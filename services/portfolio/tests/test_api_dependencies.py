"""Interdependencies over real HTTP on SQLite and PostgreSQL: cycles refused, a slip flags the dependent at
risk with its cause (the provider's schedule change, status report, pause, cancellation), recovery clears it."""

from __future__ import annotations

from datetime import date
from typing import Any

import httpx
import pytest

from pmo_devstack.testing import RunningService
from pmo_events.contracts.common import Timeline

from .api_support import new_portfolio, register

pytestmark = pytest.mark.integration

YEAR_2026 = Timeline(start=date(2026, 1, 1), end=date(2026, 6, 30))
BUDGET = [{"fiscal_period": "FY2026", "amount": "1000.00"}]


async def approved(service: RunningService, bea: httpx.AsyncClient, portfolio_id: str, *project_ids: str) -> None:
    for project_id in project_ids:
        await register(service, portfolio_id, project_id, timeline=YEAR_2026)
        body = {
            "candidate_id": project_id,
            "outcome": "approved",
            "rationale": "fits",
            "approved_budget": [{"fiscal_period": "FY2026", "amount": "100"}],
            "override_reason": "scoring waived for the test",
            "project_manager": "pam",
        }
        answer = await bea.post(f"/portfolios/{portfolio_id}/decisions", json=body)
        assert answer.status_code == 201, answer.text


def dependency(dependent: str, provider: str, need_date: str = "2026-07-31") -> dict[str, Any]:
    return {
        "dependent_project_id": dependent,
        "provider_project_id": provider,
        "needed": "the customer API",
        "need_date": need_date,
        "provider_contact": "pam",
    }


async def flagged(client: httpx.AsyncClient, portfolio_id: str) -> list[tuple[str, str | None]]:
    page = (await client.get(f"/portfolios/{portfolio_id}/dependencies", params={"at_risk": "true"})).json()
    return [(d["dependent_project_id"], d["cause"]) for d in page["items"]]


async def test_a_slipping_provider_flags_its_dependent_at_risk_until_it_recovers(service) -> None:
    portfolio = (await new_portfolio(service, ["bea"], budget=BUDGET))["id"]
    async with (
        service.client("ann", "pmo_analyst") as ann,
        service.client("bea", "board_member") as bea,
        service.client("pam", "project_manager") as pam,
    ):
        await approved(service, bea, portfolio, "p-api", "p-web", "p-app")
        url = f"/portfolios/{portfolio}/dependencies"
        created = await ann.post(url, json=dependency("p-web", "p-api"))
        assert created.status_code == 201, created.text
        assert (created.json()["at_risk"], created.json()["need_date"]) == (False, "2026-07-31")
        assert (await ann.post(url, json=dependency("p-app", "p-web"))).status_code == 201
        # the same need registered again (attack pass: it was recorded twice) is refused, nothing recorded
        twice = await ann.post(url, json={**dependency("p-web", "p-api"), "needed": " The customer  API "})
        assert twice.status_code == 409 and created.json()["id"] in twice.json()["detail"]
        other_need = await ann.post(url, json={**dependency("p-app", "p-web"), "needed": "test data"})
        assert other_need.status_code == 201
        # a portfolio that does not exist has no graph (attack pass: it answered 200 with an empty one)
        for missing in ("/portfolios/nope/dependency-graph", "/portfolios/nope/dependencies"):
            answer = await ann.get(missing)
            assert answer.status_code == 404 and answer.json()["type"] == "urn:pmo:problem:not-found", answer.text
        cycle = await ann.post(url, json=dependency("p-api", "p-app"))
        assert cycle.status_code == 409 and "p-api → p-app → p-web → p-api" in cycle.json()["detail"]
        unknown = await ann.post(url, json=dependency("p-web", "p-nope"))
        assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "provider_project_id"

        # a schedule change request approved past the need date: the dependent is at risk, with the cause
        change = {"kind": "schedule", "new_end": "2026-09-30", "rationale": "vendor late"}
        asked = await pam.post("/projects/p-api/change-requests", json=change)
        assert asked.status_code == 201, asked.text
        request_id = asked.json()["id"]
        decided = await bea.post(
            f"/projects/p-api/change-requests/{request_id}/decision", json={"outcome": "approved", "rationale": "ok"}
        )
        assert decided.status_code == 201, decided.text
        assert await flagged(ann, portfolio) == [("p-web", "forecast_after_need_date")]
        graph = (await ann.get(f"/portfolios/{portfolio}/dependency-graph")).json()
        nodes = {n["project_id"]: n for n in graph["nodes"]}
        assert nodes["p-web"]["at_risk"] and not nodes["p-app"]["at_risk"]
        assert nodes["p-api"]["forecast_end"] == "2026-09-30"
        assert {(e["dependent_project_id"], e["provider_project_id"], e["at_risk"]) for e in graph["edges"]} == {
            ("p-web", "p-api", True),
            ("p-app", "p-web", False),
        }

        # a status report forecasting an end back within the need date clears it
        report = {"period_end": "2026-03-31", "percent_complete": "30", "actual_cost": "20", "summary": "caught up"}
        recovered = await pam.post("/projects/p-api/status-reports", json={**report, "forecast_end": "2026-07-15"})
        assert recovered.status_code == 201, recovered.text
        assert await flagged(ann, portfolio) == []
        # a pause flags it for that cause; a resumption clears it; a cancellation flags it again
        assert (await bea.post("/projects/p-api/pause", json={"rationale": "funding review"})).status_code == 201
        assert await flagged(ann, portfolio) == [("p-web", "provider_paused")]
        assert (await bea.post("/projects/p-api/resume", json={"rationale": "funded"})).status_code == 201
        assert await flagged(ann, portfolio) == []
        assert (await bea.post("/projects/p-api/cancel", json={"rationale": "stopped"})).status_code == 201
        assert await flagged(ann, portfolio) == [("p-web", "provider_cancelled")]
        listed = (await ann.get(url, params={"project_id": "p-web"})).json()["items"]
        assert len(listed) == 3

        # withdrawn with a reason: its flag cleared, it leaves the lists and the graph
        at_risk_id = next(d["id"] for d in listed if d["at_risk"])
        withdraw = f"{url}/{at_risk_id}/withdraw"
        assert (await ann.post(withdraw, json={"reason": ""})).status_code == 422
        assert (await pam.post(withdraw, json={"reason": "not needed"})).status_code == 403
        withdrawn = await ann.post(withdraw, json={"reason": "the portal keeps the old API"})
        assert withdrawn.status_code == 200, withdrawn.text
        assert (withdrawn.json()["withdrawn_reason"], withdrawn.json()["at_risk"]) == (
            "the portal keeps the old API",
            False,
        )
        assert await flagged(ann, portfolio) == []
        assert at_risk_id not in [d["id"] for d in (await ann.get(url)).json()["items"]]
        graph = (await ann.get(f"/portfolios/{portfolio}/dependency-graph")).json()
        assert at_risk_id not in [e["id"] for e in graph["edges"]]
        assert (await ann.post(withdraw, json={"reason": "again"})).status_code == 404
        assert (
            await ann.post(f"/portfolios/nope/dependencies/{at_risk_id}/withdraw", json={"reason": "x"})
        ).status_code == 404
