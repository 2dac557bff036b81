"""Dependencies on a programme milestone over real HTTP on SQLite and PostgreSQL: registered (exactly one
provider, the programme and tranche of this portfolio), flagged at risk by a tranche planned past the need date,
cleared when planned back, met by a `continue` review, cancelled when the programme closes; cycles through a
milestone refused, both ways. And dependencies recorded as v1 events, before milestones, still load and fold."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest

from pmo_devstack.testing import RunningService
from pmo_events.contracts.common import Timeline
from pmo_events.contracts.portfolio import graph_id_of
from pmo_events.contracts.portfolio.dependencies import DependencyAtRiskV1, DependencyRegisteredV1
from pmo_events.runtime import Metadata
from pmo_portfolio.dependencies.commands import GRAPH

from .api_support import new_portfolio, register
from .test_api_programmes import decide, programme

pytestmark = pytest.mark.integration

YEAR_2026 = Timeline(start=date(2026, 1, 1), end=date(2026, 12, 31))
BUDGET = [{"fiscal_period": "FY2026", "amount": "1000.00"}]
FOUNDATIONS = {"name": "Foundations", "start": "2026-01-01", "end": "2026-06-30", "project_ids": ["p-core"]}


def on_milestone(dependent: str, programme_id: str, tranche_id: str, need_date: str = "2026-07-31") -> dict[str, Any]:
    return {
        "dependent_project_id": dependent,
        "provider_milestone": {"programme_id": programme_id, "tranche_id": tranche_id},
        "needed": "single sign-on in production",
        "need_date": need_date,
        "provider_contact": "paul",
    }


async def flagged(client: httpx.AsyncClient, portfolio_id: str) -> list[tuple[str, str | None, str | None]]:
    page = (await client.get(f"/portfolios/{portfolio_id}/dependencies", params={"at_risk": "true"})).json()
    return [(d["dependent_project_id"], d["provider_milestone"]["tranche_id"], d["cause"]) for d in page["items"]]


async def a_programme(service: RunningService, ann: httpx.AsyncClient, bea: httpx.AsyncClient) -> tuple[str, str]:
    """A portfolio, a programme with p-core, p-edge and p-web in it (p-out is not), and its programme id."""
    portfolio = (await new_portfolio(service, ["bea"], budget=BUDGET))["id"]
    for project_id in ("p-core", "p-edge", "p-web", "p-out"):
        await register(service, portfolio, project_id, timeline=YEAR_2026)
    created = await ann.post("/programmes", json=programme(portfolio))
    assert created.status_code == 201, created.text
    programme_id = created.json()["id"]
    for project_id in ("p-core", "p-edge", "p-web"):
        assert (await decide(bea, portfolio, project_id, "100", programme_id=programme_id)).status_code == 201
    assert (await decide(bea, portfolio, "p-out", "100")).status_code == 201
    return portfolio, programme_id


async def test_a_milestone_dependency_follows_its_tranche_until_met_or_cancelled(service) -> None:
    async with (
        service.client("ann", "pmo_analyst") as ann,
        service.client("bea", "board_member") as bea,
        service.client("paul", "viewer") as paul,
        service.client("sara", "viewer") as sara,
        service.client("pam", "project_manager") as pam,
    ):
        portfolio, programme_id = await a_programme(service, ann, bea)
        url, programme_url = f"/portfolios/{portfolio}/dependencies", f"/programmes/{programme_id}"
        planned = await paul.post(f"{programme_url}/tranches", json=FOUNDATIONS)
        assert planned.status_code == 200, planned.text
        t1 = planned.json()["tranches"][0]["tranche_id"]

        # registered by the PMO, not by a project manager; exactly one provider, of this portfolio
        assert (await pam.post(url, json=on_milestone("p-web", programme_id, t1))).status_code == 403
        bad: list[tuple[dict[str, Any], str]] = [
            ({**on_milestone("p-web", programme_id, t1), "provider_project_id": "p-core"}, "provider_milestone"),
            ({k: v for k, v in on_milestone("p-web", programme_id, t1).items() if k != "provider_milestone"},
             "provider_project_id"),
            ({**on_milestone("p-web", programme_id, t1), "provider_milestone": None}, "provider_project_id"),
            (on_milestone("p-web", "nope", t1), "provider_milestone.programme_id"),
            (on_milestone("p-web", programme_id, "nope"), "provider_milestone.tranche_id"),
            (on_milestone("p-web", "x" * 10_000, t1), "provider_milestone.programme_id"),
            (on_milestone("p-web", programme_id, ""), "provider_milestone.tranche_id"),
            ({**on_milestone("p-web", programme_id, t1),
              "provider_milestone": {"programme_id": programme_id, "tranche_id": t1, "extra": 1}},
             "provider_milestone.extra"),
            ({**on_milestone("p-web", programme_id, t1), "provider_milestone": [programme_id, t1]},
             "provider_milestone"),
            (on_milestone("p-web", programme_id, t1, "1e999999"), "need_date"),
        ]  # fmt: skip
        for body, field in bad:
            refused = await ann.post(url, json=body)
            assert refused.status_code == 422, (body, refused.text)
            assert refused.json()["errors"][0]["field"] == field, (body, refused.text)
        # a project of the tranche cannot need the tranche's own end
        cycle = await ann.post(url, json=on_milestone("p-core", programme_id, t1))
        assert cycle.status_code == 409 and f"p-core → milestone {t1} of programme" in cycle.json()["detail"]

        created = await ann.post(url, json=on_milestone("p-web", programme_id, t1))
        assert created.status_code == 201, created.text
        dependency = created.json()
        assert (dependency["provider_project_id"], dependency["provider_milestone"], dependency["at_risk"]) == (
            None,
            {"programme_id": programme_id, "tranche_id": t1},
            False,
        )
        twice = await ann.post(url, json=on_milestone("p-web", programme_id, t1))
        assert twice.status_code == 409 and dependency["id"] in twice.json()["detail"]
        graph = (await paul.get(f"/portfolios/{portfolio}/dependency-graph")).json()
        [milestone] = [n for n in graph["nodes"] if n["kind"] == "milestone"]
        assert milestone == {
            "kind": "milestone",
            "project_id": None,
            "milestone": {"programme_id": programme_id, "tranche_id": t1},
            "title": "Digital journey: end of Foundations",
            "status": "open",
            "forecast_end": "2026-06-30",
            "at_risk": False,
        }
        assert [n["project_id"] for n in graph["nodes"] if n["kind"] == "project"] == ["p-web"]

        # the tranche planned past the need date: p-web at risk; planned back: cleared
        late = await paul.put(f"{programme_url}/tranches/{t1}", json={**FOUNDATIONS, "end": "2026-09-30"})
        assert late.status_code == 200, late.text
        assert await flagged(ann, portfolio) == [("p-web", t1, "forecast_after_need_date")]
        listed = (await ann.get(url, params={"at_risk": "true"})).json()["items"]
        assert listed[0]["provider_forecast_end"] == "2026-09-30"
        graph = (await paul.get(f"/portfolios/{portfolio}/dependency-graph")).json()
        assert {n["project_id"]: n["at_risk"] for n in graph["nodes"] if n["kind"] == "project"} == {"p-web": True}
        # p-web put into the tranche whose end it needs: a cycle, refused, nothing recorded
        before = (await paul.get(programme_url)).json()["version"]
        looped = await paul.put(
            f"{programme_url}/tranches/{t1}", json={**FOUNDATIONS, "project_ids": ["p-core", "p-web"]}
        )
        assert looped.status_code == 409 and "p-web → milestone" in looped.json()["detail"], looped.text
        assert (await paul.get(programme_url)).json()["version"] == before
        back = await paul.put(f"{programme_url}/tranches/{t1}", json={**FOUNDATIONS, "end": "2026-07-31"})
        assert back.status_code == 200 and await flagged(ann, portfolio) == []

        # late again, then the SRO's `continue` review meets the milestone: cleared, the node says met
        await paul.put(f"{programme_url}/tranches/{t1}", json={**FOUNDATIONS, "end": "2026-08-31"})
        assert await flagged(ann, portfolio) == [("p-web", t1, "forecast_after_need_date")]
        met = await sara.post(f"{programme_url}/tranches/{t1}/review", json={"decision": "continue", "rationale": "ok"})
        assert met.status_code == 200, met.text
        assert await flagged(ann, portfolio) == []
        graph = (await paul.get(f"/portfolios/{portfolio}/dependency-graph")).json()
        assert [n["status"] for n in graph["nodes"] if n["kind"] == "milestone"] == ["met"]

        # a second tranche's milestone; closing the programme cancels it, the met one stays met
        scale = {"name": "Scale", "start": "2026-09-01", "end": "2026-12-31", "project_ids": ["p-edge"]}
        t2 = (await paul.post(f"{programme_url}/tranches", json=scale)).json()["tranches"][1]["tranche_id"]
        out = await ann.post(url, json=on_milestone("p-out", programme_id, t2, "2026-12-31"))
        assert out.status_code == 201 and not out.json()["at_risk"]
        closing = {"decision": "close_programme", "rationale": "benefits realised early"}
        assert (await sara.post(f"{programme_url}/tranches/{t2}/review", json=closing)).status_code == 200
        assert await flagged(ann, portfolio) == [("p-out", t2, "provider_cancelled")]
        graph = (await paul.get(f"/portfolios/{portfolio}/dependency-graph")).json()
        statuses = {n["milestone"]["tranche_id"]: n["status"] for n in graph["nodes"] if n["kind"] == "milestone"}
        assert statuses == {t1: "met", t2: "cancelled"}
        listed_for = (await ann.get(url, params={"project_id": "p-out"})).json()["items"]
        assert [d["id"] for d in listed_for] == [out.json()["id"]]
        withdrawn = await ann.post(f"{url}/{out.json()['id']}/withdraw", json={"reason": "the programme closed"})
        assert withdrawn.status_code == 200 and withdrawn.json()["provider_milestone"]["tranche_id"] == t2
        assert await flagged(ann, portfolio) == []


async def test_dependencies_recorded_as_v1_events_still_load_fold_and_flag(service) -> None:
    """The graph as it was recorded before milestones (v1 types): read through the new code, answered with a
    provider project, and the provider's news still flags and clears it (new events are v2)."""
    async with (
        service.client("ann", "pmo_analyst") as ann,
        service.client("bea", "board_member") as bea,
        service.client("pam", "project_manager") as pam,
    ):
        portfolio = (await new_portfolio(service, ["bea"], budget=BUDGET))["id"]
        for project_id in ("p-api", "p-web"):
            await register(service, portfolio, project_id, timeline=YEAR_2026)
            assert (await decide(bea, portfolio, project_id, "100")).status_code == 201
        at = datetime(2026, 2, 1, tzinfo=UTC)
        graph_id = graph_id_of(portfolio)
        pair = {
            "graph_id": graph_id,
            "portfolio_id": portfolio,
            "dependency_id": "d-old",
            "dependent_project_id": "p-web",
            "provider_project_id": "p-api",
            "need_date": "2026-07-31",
        }
        old = [
            DependencyRegisteredV1.model_validate(
                {**pair, "needed": "the API", "registered_by": "ann", "registered_at": at}
            ),
            DependencyAtRiskV1.model_validate({**pair, "cause": "provider_paused", "flagged_at": at}),
        ]
        async with service.runtime.commands.unit_of_work(Metadata(actor="ann")) as uow:
            recorded = await uow.append(GRAPH, graph_id, 0, old)
        assert [r.type for r in recorded] == [
            "pmo.portfolio.DependencyRegistered.v1",
            "pmo.portfolio.DependencyAtRisk.v1",
        ]
        url = f"/portfolios/{portfolio}/dependencies"
        [listed] = (await ann.get(url)).json()["items"]
        assert (listed["id"], listed["provider_project_id"], listed["provider_milestone"]) == ("d-old", "p-api", None)
        assert (listed["at_risk"], listed["cause"]) == (True, "provider_paused")
        # the provider reports on time: the old flag is cleared by a v2 event folded on the v1 history
        report = {"period_end": "2026-03-31", "percent_complete": "30", "actual_cost": "20", "summary": "fine",
                  "forecast_end": "2026-07-15"}  # fmt: skip
        assert (await pam.post("/projects/p-api/status-reports", json=report)).status_code == 201
        [cleared] = (await ann.get(url)).json()["items"]
        assert not cleared["at_risk"]
        async with service.runtime.commands.unit_of_work(Metadata(actor="ann")) as uow:
            loaded = await uow.load(GRAPH, graph_id)
        assert loaded.version == 3 and not loaded.state.dependencies["d-old"].at_risk
        # and the old dependency still takes part in cycle refusal
        cycle = await ann.post(url, json={"dependent_project_id": "p-api", "provider_project_id": "p-web",
                                          "needed": "x", "need_date": "2026-07-31"})  # fmt: skip
        assert cycle.status_code == 409 and "p-api → p-web → p-api" in cycle.json()["detail"]
