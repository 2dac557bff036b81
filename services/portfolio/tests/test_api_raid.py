"""The RAID log over real HTTP on SQLite and PostgreSQL: a risk escalates from its project to its programme
and the portfolio by tolerance, is visible there, is delegated back; issues, assumptions, the heatmap."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from pmo_events.contracts.common import Timeline

from .api_support import new_portfolio, register

pytestmark = pytest.mark.integration

YEAR_2026 = Timeline(start=date(2026, 1, 1), end=date(2026, 12, 31))
BUDGET = [{"fiscal_period": "FY2026", "amount": "1000.00"}]


def raid_risk(level: str, level_id: str, probability: int, impact: int, **extra: Any) -> dict[str, Any]:
    return {
        "kind": "risk",
        "level": level,
        "level_id": level_id,
        "title": "Vendor API late",
        "owner": "pam",
        "cause": "one vendor",
        "risk_event": "misses the June release",
        "effect": "the web channel slips",
        "probability": probability,
        "impact": impact,
        **extra,
    }


async def test_a_risk_escalates_by_tolerance_and_is_delegated_back(service) -> None:
    portfolio = (await new_portfolio(service, ["bea"], budget=BUDGET))["id"]
    await register(service, portfolio, "p-raid", timeline=YEAR_2026)
    async with (
        service.client("ann", "pmo_analyst") as ann,
        service.client("bea", "board_member") as bea,
        service.client("pam", "project_manager") as pam,
        service.client("vic", "viewer") as vic,
    ):
        fence = [{"fiscal_period": "FY2026", "amount": "500"}]
        programme = {"portfolio_id": portfolio, "name": "Digital", "vision": "online",
                     "senior_responsible_owner": "sara", "programme_manager": "paul", "ring_fence": fence}  # fmt: skip
        programme_id = (await ann.post("/programmes", json=programme)).json()["id"]
        budget = [{"fiscal_period": "FY2026", "amount": "100"}]
        decision = {"candidate_id": "p-raid", "outcome": "approved", "rationale": "fits",
                    "programme_id": programme_id, "approved_budget": budget,
                    "override_reason": "scoring waived for the test", "project_manager": "pam"}  # fmt: skip
        assert (await bea.post(f"/portfolios/{portfolio}/decisions", json=decision)).status_code == 201
        url = f"/portfolios/{portfolio}/raid-items"

        low = await pam.post(url, json=raid_risk("project", "p-raid", 2, 3))
        assert low.status_code == 201, low.text
        assert (low.json()["score"], low.json()["level"], low.json()["escalated"]) == (6, "project", False)
        item = low.headers["location"]
        assert (
            await vic.post(f"{item}/assessments", json={"probability": 4, "impact": 4, "rationale": "x"})
        ).status_code == 403
        scored = await pam.post(
            f"{item}/assessments", json={"probability": 4, "impact": 4, "rationale": "vendor slipped"}
        )
        assert scored.status_code == 200, scored.text
        body = scored.json()
        assert (body["score"], body["level"], body["level_id"], body["escalated"]) == (
            16,
            "programme",
            programme_id,
            True,
        )
        assert [p["score"] for p in body["history"]] == [6, 16]
        at_programme = (await vic.get(url, params={"level": "programme", "level_id": programme_id})).json()["items"]
        assert [i["id"] for i in at_programme] == [body["id"]]

        # the portfolio tightens its tolerances; the next score takes the risk to the portfolio
        tolerances = {"project": {"score": 8}, "programme": {"score": 12, "cost": "1000"}}
        assert (await pam.put(f"/portfolios/{portfolio}/raid-tolerances", json=tolerances)).status_code == 403
        tightened = await ann.put(f"/portfolios/{portfolio}/raid-tolerances", json=tolerances)
        assert tightened.status_code == 200 and tightened.json()["programme"]["cost"] == "1000.00"  # EUR's scale
        again = await pam.post(
            f"{item}/assessments",
            json={"probability": 4, "impact": 4, "rationale": "still late", "cost_impact": "250"},
        )
        assert again.json()["cost_impact"] == "250.00"
        assert (await vic.get(item)).json()["cost_impact"] == "250.00"
        assert (again.json()["level"], again.json()["level_id"]) == ("portfolio", portfolio)
        escalated = (await vic.get(url, params={"escalated": "true", "level": "portfolio"})).json()["items"]
        assert [i["id"] for i in escalated] == [body["id"]]
        delegated = await ann.post(f"{item}/delegate", json={"rationale": "the project owns it"})
        assert (delegated.json()["level"], delegated.json()["escalated"]) == ("project", False)

        # response and actions; an overdue action is named
        plan = {
            "response": "reduce",
            "actions": [{"description": "second vendor", "owner": "pam", "due_on": "2026-01-31"}],
        }
        planned = (await pam.post(f"{item}/response", json=plan)).json()
        assert planned["response"] == "reduce" and planned["overdue_actions"] == [planned["actions"][0]["action_id"]]

        # an issue at the programme and an assumption at the portfolio; unknown levels are refused
        issue = {"kind": "issue", "level": "programme", "level_id": programme_id, "title": "Lab down", "owner": "paul",
                 "priority": "high", "due_on": "2026-12-31"}  # fmt: skip
        made = await pam.post(url, json=issue)
        assert made.status_code == 201, made.text
        wrong = await pam.post(url, json={**issue, "level_id": "nope"})
        assert wrong.status_code == 422 and wrong.json()["errors"][0]["field"] == "level_id"
        assumption = {"kind": "assumption", "level": "portfolio", "level_id": portfolio, "title": "FY2027 budget",
                      "owner": "ann"}  # fmt: skip
        assumed = (await ann.post(url, json=assumption)).json()
        validated = await ann.post(
            f"{url}/{assumed['id']}/validation", json={"valid": True, "note": "finance confirmed"}
        )
        assert validated.json()["validated"] is True

        heatmap = (await vic.get(f"/portfolios/{portfolio}/risk-heatmap")).json()
        [cell] = [c for c in heatmap["cells"] if c["count"]]
        assert (cell["probability"], cell["impact"], cell["raid_item_ids"]) == (4, 4, [body["id"]])
        assert [r["id"] for r in heatmap["top_risks"]] == [body["id"]]
        # a status report refers to RAID items of its portfolio, and only those
        report = {"period_end": "2026-03-31", "percent_complete": "10", "actual_cost": "5", "summary": "see RAID"}
        referring = await pam.post("/projects/p-raid/status-reports", json={**report, "raid_item_ids": [body["id"]]})
        assert referring.status_code == 201, referring.text
        assert referring.json()["recorded"][0]["raid_item_ids"] == [body["id"]]
        bogus = await pam.post("/projects/p-raid/status-reports", json={**report, "raid_item_ids": ["nope"]})
        assert bogus.status_code == 422 and bogus.json()["errors"][0]["field"] == "raid_item_ids.0"
        closed = await pam.post(f"{item}/close", json={"resolution": "vendor delivered"})
        assert closed.json()["status"] == "closed"
        assert (await pam.post(f"{item}/close", json={"resolution": "again"})).status_code == 409
