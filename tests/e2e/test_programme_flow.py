"""A programme across the services (issue 16): the embedded stack as real processes, driven over HTTP.

A programme of three projects approved into it, in two tranches; the second project needs something from
the first. The first slips by a schedule change request: the dependent is flagged at risk in the portfolio
and in reporting, a risk on the first project is scored beyond every tolerance and escalates to the
portfolio, a benefit is realised and rolls up, by its share, into the programme's benefits map. The
programme's figures (rolled-up status, ring-fence, benefits map) are the same strings in the portfolio
(`GET /programmes/{id}`) and in reporting's dashboard, live and `as_of` the instant before the slip, when
reporting shows the whole picture as it was then.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from pmo_devstack.demo import load
from pmo_devstack.polling import wait_until
from pmo_devstack.stack import SERVICES

from .test_initiative_flow import Running, logs

pytestmark = pytest.mark.e2e
__all__ = ["logs"]

PATIENCE = 90.0
COST = "100000.00"
#: The figures both services show for a programme (the portfolio's `status_rollup`, reporting's too).
ROLLUP = ("worst_rag", "projects_reporting", "projects_by_status", "evm")
FENCE = ("fiscal_period", "ring_fence", "drawn", "remaining")


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory, logs: Any) -> Iterator[Running]:
    stack = Running(tmp_path_factory.mktemp("programme"), logs)
    stack.start()
    yield stack
    stack.stack.stop()


def ok(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code < 300, (response.request.method, response.request.url, response.text)
    body: dict[str, Any] = response.json()
    return body


class Office:
    """One PMO on the stack: a portfolio with bob as its board, an objective, and a client per person."""

    def __init__(self, running: Running) -> None:
        self.running = running
        self.analyst = running.client("portfolio", "paula", "pmo_analyst")
        self.bob = running.client("portfolio", "bob", "board_member")
        self.pam = running.client("portfolio", "pam", "project_manager")
        self.sara = running.client("portfolio", "sara", "viewer")
        self.paul = running.client("portfolio", "paul", "project_manager")
        self.viewer = running.client("portfolio", "vera", "viewer")
        self.reporting = running.client("reporting", "vera", "viewer")
        envelope = [{"fiscal_period": "FY2026", "amount": "1000000.00"}]
        body = {"name": "Change", "currency": "EUR", "owner": "olga", "budget": envelope, "board_members": ["bob"]}
        self.portfolio_id: str = ok(self.analyst.post("/portfolios", json=body))["id"]
        objective = {"title": "Grow", "weight": "3", "period": {"start": "2026-01-01", "end": "2028-12-31"}}
        self.objective_id: str = ok(self.analyst.post("/objectives", json=objective))["id"]

    def proposal(self, title: str) -> str:
        alice = self.running.client("intake", "alice", "requester")
        body = {
            "title": title, "portfolio_id": self.portfolio_id, "summary": "part of Customer 360", "sponsor": "carol",
            "objective_contributions": [{"objective_id": self.objective_id, "contribution": 4}],
            "business_case": {"currency": "EUR", "costs": [{"fiscal_period": "FY2026", "amount": COST}],
                              "benefits": [{"description": f"{title} pays back", "kind": "financial",
                                            "value_amount": "150000"}]},
            "timeline": {"start": "2026-01-01", "end": "2026-12-31"},
            "resource_estimate": [{"role": "developer", "fte": "0.5", "start": "2026-01-01", "end": "2026-06-30"}],
            "risk_level": "medium",
        }  # fmt: skip
        proposal_id: str = ok(alice.post("/proposals", json=body))["id"]
        submitted = lambda: alice.post(f"/proposals/{proposal_id}/submit").status_code == 200  # noqa: E731
        wait_until(submitted, "intake to know the portfolio", timeout=PATIENCE)
        return proposal_id

    def approve_into(self, programme_id: str, proposal_id: str) -> None:
        candidates = f"/portfolios/{self.portfolio_id}/candidates"
        known = lambda: proposal_id in {c["id"] for c in self.bob.get(candidates).json()["items"]}  # noqa: E731
        wait_until(known, "the candidate", timeout=PATIENCE)
        decision = {"candidate_id": proposal_id, "outcome": "approved", "rationale": "part of the programme",
                    "override_reason": "fast-tracked: no scoring round", "programme_id": programme_id,
                    "project_manager": "pam",
                    "approved_budget": [{"fiscal_period": "FY2026", "amount": COST}]}  # fmt: skip
        ok(self.bob.post(f"/portfolios/{self.portfolio_id}/decisions", json=decision))

    def report(self, project_id: str, period_end: str, percent: str, cost: str) -> None:
        body = {"period_end": period_end, "percent_complete": percent, "actual_cost": cost, "summary": "as planned"}
        ok(self.pam.post(f"/projects/{project_id}/status-reports", json=body))

    def owner_figures(self, programme_id: str) -> dict[str, Any]:
        """What the portfolio shows of the programme: its rolled-up status and its ring-fence lines."""
        programme = ok(self.viewer.get(f"/programmes/{programme_id}"))
        return {
            "status_rollup": {k: programme["status_rollup"][k] for k in ROLLUP},
            "ring_fence": [{k: line[k] for k in FENCE} for line in programme["ring_fence"]],
            "benefits_map": programme["benefits_map"],
        }

    def dashboard(self, programme_id: str, **as_of: str) -> dict[str, Any]:
        return ok(self.reporting.get(f"/reports/programmes/{programme_id}", params=as_of))

    def reported_figures(self, programme_id: str, **as_of: str) -> dict[str, Any]:
        """The same figures as reporting's dashboard gives them."""
        dashboard = self.dashboard(programme_id, **as_of)
        return {
            "status_rollup": {k: dashboard["status_rollup"][k] for k in ROLLUP},
            "ring_fence": [{k: line[k] for k in FENCE} for line in dashboard["ring_fence"]],
            "benefits_map": dashboard["benefits_map"],
        }


def test_a_programme_slips_escalates_and_rolls_up_the_same_in_every_service(running: Running) -> None:
    office = Office(running)
    created = {"portfolio_id": office.portfolio_id, "name": "Customer 360", "vision": "One view of every customer",
               "senior_responsible_owner": "sara", "programme_manager": "paul",
               "ring_fence": [{"fiscal_period": "FY2026", "amount": "400000.00"}]}  # fmt: skip
    programme_id: str = ok(office.analyst.post("/programmes", json=created))["id"]
    api, app, web = (office.proposal(title) for title in ("Customer API", "Mobile app", "Web shop"))
    for project_id in (api, app, web):
        office.approve_into(programme_id, project_id)
    for name, start, end, members in (("Foundations", "2026-01-01", "2026-06-30", [api, app]),
                                      ("Channels", "2026-07-01", "2026-12-31", [web])):  # fmt: skip
        tranche = {"name": name, "start": start, "end": end, "project_ids": members}
        ok(office.paul.post(f"/programmes/{programme_id}/tranches", json=tranche))
    dependency = {"dependent_project_id": app, "provider_project_id": api, "needed": "the customer API live",
                  "need_date": "2027-01-31", "provider_contact": "pam"}  # fmt: skip
    edge = ok(office.analyst.post(f"/portfolios/{office.portfolio_id}/dependencies", json=dependency))
    assert edge["at_risk"] is False
    risk = {"kind": "risk", "level": "project", "level_id": api, "title": "API vendor late", "owner": "pam",
            "probability": 3, "impact": 3}  # fmt: skip
    risk_id: str = ok(office.pam.post(f"/portfolios/{office.portfolio_id}/raid-items", json=risk))["id"]
    benefit = {"description": "Cost to serve down", "owner": "olga", "unit": "EUR",
               "profile": [{"on": "2026-06-30", "planned_value": "50000.00"},
                           {"on": "2027-06-30", "planned_value": "200000.00"}]}  # fmt: skip
    mapped = ok(office.paul.post(f"/programmes/{programme_id}/benefits", json=benefit))["benefits_map"]
    benefit_path = f"/programmes/{programme_id}/benefits/{mapped[0]['benefit_id']}/contributions"
    for project_id, share in ((api, "0.5"), (app, "0.25")):
        fed = {"project_id": project_id, "project_benefit_id": "#1", "share": share}
        ok(office.paul.post(benefit_path, json=fed))
    office.report(api, "2026-03-31", "30", "28000")
    office.report(app, "2026-03-31", "20", "30000")
    office.report(web, "2026-03-31", "0", "0")

    # Before the slip: both services agree, and reporting has caught up with every fact so far.
    before_slip = office.owner_figures(programme_id)
    assert before_slip["status_rollup"]["projects_reporting"] == 3
    assert before_slip["ring_fence"] == [
        {"fiscal_period": "FY2026", "ring_fence": "400000.00", "drawn": "300000.00", "remaining": "100000.00"}
    ]
    caught_up = lambda: office.reported_figures(programme_id) == before_slip or None  # noqa: E731
    wait_until(caught_up, "reporting's programme figures", timeout=PATIENCE)
    time.sleep(0.05)
    before = datetime.now(UTC).isoformat()
    time.sleep(0.05)

    # The slip: the API moves its end past the app's need date by a schedule change request.
    change = {"kind": "schedule", "new_end": "2027-03-31", "rationale": "vendor slipped"}
    change_id = ok(office.pam.post(f"/projects/{api}/change-requests", json=change))["id"]
    decided = {"outcome": "approved", "rationale": "accept the slip"}
    ok(office.bob.post(f"/projects/{api}/change-requests/{change_id}/decision", json=decided))
    at_risk = ok(office.viewer.get(f"/portfolios/{office.portfolio_id}/dependencies", params={"at_risk": "true"}))
    assert [(d["dependent_project_id"], d["cause"]) for d in at_risk["items"]] == [(app, "forecast_after_need_date")]
    rescored = {"probability": 5, "impact": 5, "rationale": "the vendor confirmed the slip"}
    ok(office.pam.post(f"/portfolios/{office.portfolio_id}/raid-items/{risk_id}/assessments", json=rescored))
    item = ok(office.viewer.get(f"/portfolios/{office.portfolio_id}/raid-items/{risk_id}"))
    assert (item["level"], item["level_id"], item["escalated"]) == ("portfolio", office.portfolio_id, True)
    office.report(api, "2026-06-30", "45", "60000")
    benefit_id = quote(ok(office.viewer.get(f"/projects/{api}"))["benefits"][0]["benefit_id"] or "#1", safe="")
    realised = {"measured_value": "20000", "measured_on": "2026-09-30", "note": "first customers self-serve"}
    ok(office.pam.post(f"/projects/{api}/benefits/{benefit_id}/realisations", json=realised))
    ok(office.sara.post(f"/programmes/{programme_id}/tranches/{_tranche(office, programme_id, 1)}/review",
                        json={"decision": "continue", "rationale": "foundations in place"}))  # fmt: skip
    manager = {"period_end": "2026-06-30", "rag": {"overall": "amber"}, "summary": "API slipping"}
    ok(office.paul.post(f"/programmes/{programme_id}/status-reports", json=manager))
    after_slip = office.owner_figures(programme_id)

    # Now: reporting shows the slip, the escalation and the roll-up, with the portfolio's own figures.
    def slipped() -> dict[str, Any] | None:
        dashboard = office.dashboard(programme_id)
        done = dashboard["status_rollup"]["manager_report"] and dashboard["benefit_totals"]["realised_count"]
        return dashboard if done and office.reported_figures(programme_id) == after_slip else None

    now = wait_until(slipped, "reporting to show the slip", timeout=PATIENCE)
    rows = {row["project_id"]: row for row in now["items"]}
    assert (rows[app]["at_risk"], rows[api]["at_risk"], rows[web]["at_risk"]) == (True, False, False)
    assert rows[api]["end"] == "2027-03-31" and rows[api]["tranche_id"] == _tranche(office, programme_id, 1)
    assert [(d["dependent_project_id"], d["at_risk"], d["cause"]) for d in now["dependencies"]] == [
        (app, True, "forecast_after_need_date")
    ]
    [escalated] = now["escalated_raid"]
    assert (escalated["id"], escalated["level"], escalated["raised_level_id"], escalated["score"]) == (
        risk_id, "portfolio", api, 25,
    )  # fmt: skip
    assert [t["status"] for t in now["tranches"]] == ["closed", "open"] and now["tranches"][0]["decided_by"] == "sara"
    assert now["benefit_totals"] == {"planned": "450000.00", "realised": "20000.00", "count": 3, "realised_count": 1}
    [programme_benefit] = now["benefits_map"]  # 20,000 realised by the API, half of it feeds the programme
    assert (programme_benefit["planned_to_date"], programme_benefit["realised_to_date"]) == ("50000.00", "10000.00")
    assert now["status_rollup"]["manager_report"]["rag"]["overall"] == "amber"
    graph = ok(office.reporting.get("/reports/dependencies", params={"portfolio_id": office.portfolio_id}))
    assert {n["project_id"]: n["at_risk"] for n in graph["nodes"]} == {api: False, app: True}
    risks = ok(office.reporting.get("/reports/risks", params={"portfolio_id": office.portfolio_id,
                                                               "level": "portfolio"}))  # fmt: skip
    assert [(r["id"], r["score"]) for r in risks["items"]] == [(risk_id, 25)]
    assert [c["raid_item_ids"] for c in risks["cells"] if c["count"]] == [[risk_id]]
    assert [(m["from_level"], m["to_level"]) for m in risks["escalations"]] == [("project", "programme"),
                                                                               ("programme", "portfolio")]  # fmt: skip
    listed = ok(office.reporting.get("/reports/programmes", params={"portfolio_id": office.portfolio_id}))
    assert [(p["id"], p["projects"], p["projects_at_risk"]) for p in listed["items"]] == [(programme_id, 3, 1)]

    # As of the instant before the slip: the portfolio's figures of then, nothing at risk, the risk at its project.
    assert office.reported_figures(programme_id, as_of=before) == before_slip
    then = office.dashboard(programme_id, as_of=before)
    assert not any(row["at_risk"] for row in then["items"])
    assert {row["project_id"]: row["end"] for row in then["items"]}[api] == "2026-12-31"
    assert then["escalated_raid"] == [] and then["status_rollup"]["manager_report"] is None
    assert [t["status"] for t in then["tranches"]] == ["open", "open"]
    assert then["benefit_totals"]["realised"] == "0.00"
    assert then["benefits_map"][0]["realised_to_date"] == "0.00"
    graph_then = ok(office.reporting.get("/reports/dependencies", params={"portfolio_id": office.portfolio_id,
                                                                          "as_of": before}))  # fmt: skip
    assert [e["at_risk"] for e in graph_then["items"]] == [False]
    risks_then = ok(office.reporting.get("/reports/risks", params={"portfolio_id": office.portfolio_id,
                                                                    "as_of": before}))  # fmt: skip
    assert [(r["level"], r["score"], r["escalated"]) for r in risks_then["items"]] == [("project", 9, False)]
    assert risks_then["escalations"] == []


def _tranche(office: Office, programme_id: str, sequence: int) -> str:
    tranches = ok(office.viewer.get(f"/programmes/{programme_id}"))["tranches"]
    found: str = next(t["tranche_id"] for t in tranches if t["sequence"] == sequence)
    return found


def test_the_demo_programme_shows_its_tranches_dependencies_and_raid_log(running: Running) -> None:
    """`make demo`'s programme as the README says to look at it: reporting's dashboard, risk view and map."""
    lines = load({name: running.stack.url(name) for name in SERVICES}, running.data_dir)
    programme_id = next(m.group(1) for line in lines if (m := re.match(r"programme (\S+) \(Customer 360\)", line)))
    reporting = running.client("reporting", "vera", "viewer")

    def shown() -> dict[str, Any] | None:
        answer = reporting.get(f"/reports/programmes/{programme_id}")
        body: dict[str, Any] = answer.json()
        complete = answer.status_code == 200 and body["escalated_raid"] and len(body["dependencies"]) == 3
        return body if complete and body["status_rollup"]["manager_report"] else None

    dashboard = wait_until(shown, "reporting to show the demo programme", timeout=PATIENCE)
    assert [t["name"] for t in dashboard["tranches"]] == ["Tranche 1: billing foundations",
                                                          "Tranche 2: customer channels"]  # fmt: skip
    assert dashboard["ring_fence"][0]["ring_fence"] == "700000.00" and len(dashboard["items"]) == 2
    assert sorted((d["needed"], d["at_risk"]) for d in dashboard["dependencies"]) == [
        ("billing foundations delivered (one customer ledger to load)", False),
        ("billing history exported to the warehouse", False), ("the new billing API in production", True),
    ]  # fmt: skip
    [risk] = dashboard["escalated_raid"]
    assert (risk["title"], risk["level"], risk["score"]) == ("Mainframe support ends early", "programme", 16)
    assert dashboard["open_raid"] == {"risk": 2, "issue": 1, "assumption": 0}
    [benefit] = dashboard["benefits_map"]
    contributions = [(c["share"], c["contributed"]) for c in benefit["contributions"]]
    assert contributions == [("0.5000", "0.00"), ("0.5000", "0.00")]
    portfolio_id = dashboard["portfolio_id"]
    risks = ok(reporting.get("/reports/risks", params={"portfolio_id": portfolio_id}))
    assert [r["score"] for r in risks["items"]] == [16, 6]
    graph = ok(reporting.get("/reports/dependencies", params={"portfolio_id": portfolio_id}))
    assert len(graph["nodes"]) == 4 and sum(n["at_risk"] for n in graph["nodes"]) == 1
    [milestone] = [n for n in graph["nodes"] if n["kind"] == "milestone"]
    assert (milestone["title"], milestone["status"], milestone["forecast_end"]) == (
        "Customer 360: end of Tranche 1: billing foundations", "open", "2027-06-30",
    )  # fmt: skip


def test_a_dependency_on_a_programme_milestone_is_flagged_when_its_tranche_slips_and_met_by_its_review(
    running: Running,
) -> None:
    """A project outside the tranche needs the tranche's end: the tranche planned past the need date flags it at
    risk in the portfolio and in reporting (map and dashboard); the SRO's `continue` review meets it."""
    office = Office(running)
    created = {"portfolio_id": office.portfolio_id, "name": "Data first", "vision": "One customer ledger",
               "senior_responsible_owner": "sara", "programme_manager": "paul",
               "ring_fence": [{"fiscal_period": "FY2026", "amount": "300000.00"}]}  # fmt: skip
    programme_id: str = ok(office.analyst.post("/programmes", json=created))["id"]
    ledger, portal = (office.proposal(title) for title in ("Customer ledger", "Self-service portal"))
    for project_id in (ledger, portal):
        office.approve_into(programme_id, project_id)
    tranche = {"name": "Ledger", "start": "2026-01-01", "end": "2026-06-30", "project_ids": [ledger]}
    tranche_id = ok(office.paul.post(f"/programmes/{programme_id}/tranches", json=tranche))["tranches"][0]["tranche_id"]
    milestone = {"programme_id": programme_id, "tranche_id": tranche_id}
    need = {"dependent_project_id": portal, "provider_milestone": milestone, "needed": "the ledger live",
            "need_date": "2026-07-31", "provider_contact": "paul"}  # fmt: skip
    url = f"/portfolios/{office.portfolio_id}/dependencies"
    edge = ok(office.analyst.post(url, json=need))
    assert (edge["provider_project_id"], edge["provider_milestone"], edge["at_risk"]) == (None, milestone, False)

    # The tranche is planned again to end after the portal's need date: at risk, in the portfolio at once.
    slipped = ok(
        office.paul.put(f"/programmes/{programme_id}/tranches/{tranche_id}", json={**tranche, "end": "2026-10-31"})
    )
    assert slipped["tranches"][0]["end"] == "2026-10-31"
    [flagged] = ok(office.viewer.get(url, params={"at_risk": "true"}))["items"]
    assert (flagged["id"], flagged["cause"], flagged["provider_forecast_end"]) == (
        edge["id"], "forecast_after_need_date", "2026-10-31",
    )  # fmt: skip

    # ... and in reporting: the map's edge and milestone node, the programme dashboard's dependencies.
    def mapped(at_risk: bool, status: str) -> dict[str, Any] | None:
        graph = ok(office.reporting.get("/reports/dependencies", params={"portfolio_id": office.portfolio_id}))
        nodes = [n for n in graph["nodes"] if n["kind"] == "milestone"]
        shown = [e["at_risk"] for e in graph["items"]] == [at_risk] and [n["status"] for n in nodes] == [status]
        return graph if shown else None

    graph = wait_until(lambda: mapped(True, "open"), "reporting to flag the milestone dependency", timeout=PATIENCE)
    [node] = [n for n in graph["nodes"] if n["kind"] == "milestone"]
    assert (node["milestone"], node["title"], node["forecast_end"]) == (milestone, "Data first: end of Ledger",
                                                                        "2026-10-31")  # fmt: skip
    assert {n["project_id"]: n["at_risk"] for n in graph["nodes"] if n["kind"] == "project"} == {portal: True}
    [edge_shown] = graph["items"]
    assert (edge_shown["provider_milestone"], edge_shown["cause"]) == (milestone, "forecast_after_need_date")
    dashboard = office.dashboard(programme_id)
    assert [(d["id"], d["at_risk"]) for d in dashboard["dependencies"]] == [(edge["id"], True)]
    assert {row["project_id"]: row["at_risk"] for row in dashboard["items"]} == {ledger: False, portal: True}

    # The SRO's continue review meets the milestone: cleared in the portfolio, then in reporting.
    review = {"decision": "continue", "rationale": "the ledger is live"}
    ok(office.sara.post(f"/programmes/{programme_id}/tranches/{tranche_id}/review", json=review))
    assert ok(office.viewer.get(url, params={"at_risk": "true"}))["items"] == []
    wait_until(lambda: mapped(False, "met"), "reporting to show the milestone met", timeout=PATIENCE)
