"""Programmes over real HTTP with real tokens, on SQLite and PostgreSQL: ring-fence, joining, tranches, roll-up."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
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
        "project_manager": "pam",
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
        signed_nothing = await ann.post("/programmes", json=programme(portfolio, "-0"))
        assert (
            signed_nothing.status_code == 422 and signed_nothing.json()["errors"][0]["field"] == "ring_fence.0.amount"
        )
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


async def test_the_benefits_map_rolls_up_its_projects_realisations(service) -> None:
    """Two projects' benefit "#1" (in EUR, as their proposals planned it) feed a programme benefit at 60% and
    40%; their measurements roll up against the profile planned to date."""
    portfolio = (await new_portfolio(service, ["bea"], budget=BUDGET))["id"]
    await candidates(service, portfolio, "p-one", "p-two", "p-out")
    yesterday = (datetime.now(UTC).date() - timedelta(days=1)).isoformat()
    async with (
        service.client("ann", "pmo_analyst") as ann,
        service.client("bea", "board_member") as bea,
        service.client("paul", "viewer") as paul,
        service.client("pam", "project_manager") as pam,
    ):
        url = (await ann.post("/programmes", json=programme(portfolio))).headers["location"]
        for project_id in ("p-one", "p-two", "p-out"):
            assert (await decide(bea, portfolio, project_id, "100")).status_code == 201
        for project_id in ("p-one", "p-two"):
            join = {"project_id": project_id, "rationale": "same customers"}
            assert (await paul.post(f"{url}/projects", json=join)).status_code == 200
        benefit = {
            "description": "Cost to serve down",
            "owner": "olga",
            "unit": "EUR",
            "profile": [{"on": "2020-01-01", "planned_value": "100"}, {"on": "2199-12-31", "planned_value": "900"}],
        }
        falling = {**benefit, "profile": [benefit["profile"][1], benefit["profile"][0]]}
        refused = await paul.post(f"{url}/benefits", json=falling)
        assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "profile.1.on"
        assert (await pam.post(f"{url}/benefits", json=benefit)).status_code == 403
        defined = await paul.post(f"{url}/benefits", json=benefit)
        assert defined.status_code == 200, defined.text
        [mapped] = defined.json()["benefits_map"]
        assert (mapped["owner"], mapped["planned_to_date"], mapped["realised_to_date"]) == ("olga", "100.00", "0.00")
        feeds = f"{url}/benefits/{mapped['benefit_id']}/contributions"

        first = await paul.post(feeds, json={"project_id": "p-one", "project_benefit_id": "#1", "share": "0.6"})
        assert first.status_code == 200, first.text
        assert (
            await paul.post(feeds, json={"project_id": "p-two", "project_benefit_id": "#1", "share": "0.4"})
        ).is_success
        for wrong, field in (
            ({"project_id": "p-out", "project_benefit_id": "#1", "share": "0.5"}, "project_id"),
            ({"project_id": "p-one", "project_benefit_id": "#7", "share": "0.5"}, "project_benefit_id"),
            ({"project_id": "p-one", "project_benefit_id": "#1", "share": "1.5"}, "share"),
            ({"project_id": "p-one", "project_benefit_id": "#1", "share": 0.5}, "share"),
        ):
            answer = await paul.post(feeds, json=wrong)
            assert answer.status_code == 422 and answer.json()["errors"][0]["field"] == field, answer.text
        # a second programme benefit may take only what is left of p-one's "#1"
        other = (await paul.post(f"{url}/benefits", json={**benefit, "description": "Fewer complaints"})).json()
        second_id = other["benefits_map"][1]["benefit_id"]
        too_much = await paul.post(
            f"{url}/benefits/{second_id}/contributions",
            json={"project_id": "p-one", "project_benefit_id": "#1", "share": "0.41"},
        )
        assert too_much.status_code == 422 and too_much.json()["errors"][0]["field"] == "share"
        missing = await paul.post(f"{url}/benefits/nope/contributions", json={**benefit, "share": "0.1"})
        assert missing.status_code == 422  # the body is checked first
        assert (await paul.put(f"{url}/benefits/nope", json=benefit)).status_code == 404

        for project_id, value in (("p-one", "150"), ("p-two", "50")):
            measured = {"measured_value": value, "measured_on": yesterday}
            recorded = await pam.post(f"/projects/{project_id}/benefits/%231/realisations", json=measured)
            assert recorded.status_code == 201, recorded.text
        read = (await paul.get(url)).json()
        [rolled, _other] = read["benefits_map"]
        assert rolled["realised_to_date"] == "110.00" and rolled["planned_to_date"] == "100.00"  # .6x150 + .4x50
        assert [
            (c["project_id"], c["share"], c["measured_value"], c["contributed"]) for c in rolled["contributions"]
        ] == [
            ("p-one", "0.6000", "150.00", "90.00"),
            ("p-two", "0.4000", "50.00", "20.00"),
        ]
        restated = await paul.put(f"{url}/benefits/{mapped['benefit_id']}", json={**benefit, "owner": "omar"})
        assert restated.json()["benefits_map"][0]["owner"] == "omar"
        assert len(restated.json()["benefits_map"][0]["contributions"]) == 2


async def test_an_approval_brings_the_project_into_the_programme_its_proposal_asked_to_join(service) -> None:
    """A proposal names a programme (intake checked it): the approval joins it unless the decision says
    otherwise; a decision naming another programme wins."""
    portfolio = (await new_portfolio(service, ["bea"], budget=BUDGET))["id"]
    async with service.client("ann", "pmo_analyst") as ann, service.client("bea", "board_member") as bea:
        asked = (await ann.post("/programmes", json=programme(portfolio, "300"))).json()["id"]
        other = (await ann.post("/programmes", json=programme(portfolio, "300"))).json()["id"]
        for project_id in ("p-asks", "p-declined", "p-elsewhere"):
            await register(service, portfolio, project_id, timeline=YEAR_2026, programme_id=asked)
        joined = await decide(bea, portfolio, "p-asks", "100")
        assert joined.status_code == 201 and joined.json()["programme_id"] == asked, joined.text
        declined = await decide(bea, portfolio, "p-declined", "100", join_requested_programme=False)
        assert declined.status_code == 201 and declined.json()["programme_id"] is None, declined.text
        elsewhere = await decide(bea, portfolio, "p-elsewhere", "100", programme_id=other)
        assert elsewhere.status_code == 201 and elsewhere.json()["programme_id"] == other
        members = {
            programme_id: [p["project_id"] for p in (await bea.get(f"/programmes/{programme_id}")).json()["projects"]]
            for programme_id in (asked, other)
        }
        assert members == {asked: ["p-asks"], other: ["p-elsewhere"]}


async def test_a_members_approved_budget_change_moves_its_draw_on_the_ring_fence(service) -> None:
    portfolio = (await new_portfolio(service, ["bea"], budget=BUDGET))["id"]
    await candidates(service, portfolio, "p-grows")
    async with (
        service.client("ann", "pmo_analyst") as ann,
        service.client("bea", "board_member") as bea,
        service.client("pam", "project_manager") as pam,
    ):
        url = (await ann.post("/programmes", json=programme(portfolio, "600"))).headers["location"]
        programme_id = url.rsplit("/", 1)[1]
        approved = await decide(bea, portfolio, "p-grows", "400", programme_id=programme_id, **above_request("400"))
        assert approved.status_code == 201, approved.text

        async def change(amount: str) -> httpx.Response:
            body = {"kind": "budget", "budget_delta": [{"fiscal_period": "FY2026", "amount": amount}], "rationale": "x"}
            asked = await pam.post("/projects/p-grows/change-requests", json=body)
            assert asked.status_code == 201, asked.text
            decision = {"outcome": "approved", "rationale": "ok"}
            return await bea.post(f"/projects/p-grows/change-requests/{asked.json()['id']}/decision", json=decision)

        refused = await change("200.01")  # 200 left of the ring-fence
        assert refused.status_code == 409 and refused.json()["type"] == "urn:pmo:problem:ring-fence-exceeded"
        assert (await change("150")).status_code == 201
        fence = (await bea.get(url)).json()["ring_fence"]
        assert fence == [{"fiscal_period": "FY2026", "ring_fence": "600.00", "drawn": "550.00", "remaining": "50.00"}]
