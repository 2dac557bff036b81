"""Project delivery over real HTTP with real tokens, on SQLite and PostgreSQL: roles, If-Match, every command."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest

from pmo_devstack.testing import RunningService
from pmo_events.contracts.common import Timeline
from pmo_events.contracts.intake import ProposalWithdrawn
from pmo_events.runtime import Metadata
from pmo_portfolio.candidates.commands import withdraw_candidate

from .api_support import above_request, new_portfolio, register

pytestmark = pytest.mark.integration


#: The projects of these tests run through 2026, so their status reports are dated in the past.
YEAR_2026 = Timeline(start=date(2026, 1, 1), end=date(2026, 12, 31))
BUDGET_2026 = [{"fiscal_period": "FY2026", "amount": "1000.00"}, {"fiscal_period": "FY2027", "amount": "500.00"}]


async def approved_project(
    service: RunningService, project_id: str, amount: str = "400", manager: str | None = "pam"
) -> str:
    """A portfolio (board: bea) with the proposal approved: the project exists, id = proposal id, managed by
    `manager` (none: the project starts without one)."""
    portfolio = await new_portfolio(service, ["bea"], budget=BUDGET_2026)
    await register(service, portfolio["id"], project_id, timeline=YEAR_2026)
    body = {
        "candidate_id": project_id,
        "outcome": "approved",
        "rationale": "fits",
        "approved_budget": [{"fiscal_period": "FY2026", "amount": amount}],
        **above_request(amount),
        "override_reason": "scoring waived for the test",
        **({"project_manager": manager} if manager else {}),
    }
    async with service.client("bea", "board_member") as bea:
        answer = await bea.post(f"/portfolios/{portfolio['id']}/decisions", json=body)
    assert answer.status_code == 201, answer.text
    return portfolio["id"]


def report(percent: str = "40", cost: str = "200", **extra: Any) -> dict[str, Any]:
    return {"period_end": "2026-06-30", "percent_complete": percent, "actual_cost": cost, "summary": "ok", **extra}


async def test_gates_in_order_with_board_authority_and_if_match(service) -> None:
    await approved_project(service, "p-gates", manager=None)
    url = "/projects/p-gates"
    async with service.client("bea", "board_member") as bea, service.client("pam", "project_manager") as pam:
        project = await bea.get(url)
        assert project.status_code == 200 and project.headers["etag"] == '"1"'
        assert (project.json()["stage"], project.json()["status"], project.json()["bac"]) == (
            "initiate",
            "active",
            "400.00",
        )
        # The estimate and the benefits as registered ("2", "900"), at the contract's scales.
        assert [e["fte"] for e in project.json()["resource_estimate"]] == ["2.0000"]
        assert [b["value_amount"] for b in project.json()["benefits"]] == ["900.00"]
        gate = {"gate": "plan", "decision": "proceed", "rationale": "plan is ready"}
        assert (await pam.post(f"{url}/gates", json=gate)).status_code == 403
        out_of_order = await bea.post(f"{url}/gates", json={**gate, "gate": "execute"})
        assert out_of_order.status_code == 409 and "next gate" in out_of_order.json()["detail"]
        passed = await bea.post(f"{url}/gates", json=gate, headers={"If-Match": '"1"'})
        assert passed.status_code == 201, passed.text
        assert passed.headers["etag"] == '"2"' and passed.json()["project"]["stage"] == "plan"
        stale = await bea.post(f"{url}/gates", json={**gate, "gate": "execute"}, headers={"If-Match": '"1"'})
        assert stale.status_code == 412
        held = await bea.post(f"{url}/gates", json={**gate, "gate": "execute", "decision": "hold"})
        assert held.json()["project"]["status"] == "on_hold"
        blank = await bea.post(f"{url}/gates", json={**gate, "gate": "execute", "rationale": ""})
        assert blank.status_code == 422 and blank.json()["errors"][0]["field"] == "rationale"
        assert (await bea.post("/projects/nope/gates", json=gate)).status_code == 404
        listed = (await bea.get("/projects", params={"status": "on_hold", "stage": "plan"})).json()["items"]
        assert [p["id"] for p in listed] == ["p-gates"]


async def test_status_reports_derive_rag_and_corrections_are_recorded(service) -> None:
    await approved_project(service, "p-status")
    url = "/projects/p-status/status-reports"
    async with service.client("bea", "board_member") as bea, service.client("pam", "project_manager") as pam:
        assert (await bea.post(url, json=report())).status_code == 403
        first = await pam.post(url, json=report())
        assert first.status_code == 201, first.text
        [event] = first.json()["recorded"]
        assert (event["planned_value"], event["earned_value"], event["spi"], event["cpi"]) == (
            "198.36", "160.00", "0.8066", "0.8000"
        )  # fmt: skip
        assert event["rag"]["overall"] == "red" and event["rag_source"] == "derived"
        rosy = await pam.post(url, json=report(rag={"schedule": "green", "cost": "green", "scope": "green"}))
        assert rosy.status_code == 422 and rosy.json()["errors"][0]["field"] == "justification"
        justified = await pam.post(
            url, json=report(rag={"schedule": "green", "cost": "green", "scope": "green"}, justification="catch-up")
        )
        assert justified.json()["recorded"][0]["correction_of"] == event["report_id"]
        assert (await pam.post(url, json=report(percent="140"))).json()["errors"][0]["field"] == "percent_complete"
        zero = (await pam.post(url, json=report(percent="0", cost="0", period_end="2026-01-01"))).json()["recorded"][0]
        # Nothing spent: CPI divides by nothing, so CPI, EAC and VAC are null (the event keeps "undefined").
        assert (zero["planned_value"], zero["spi"], zero["cpi"], zero["eac"]) == ("1.10", "0.0000", None, None)
        latest = (await bea.get("/projects/p-status")).json()["latest_status_report"]
        assert latest["report_id"] == justified.json()["id"]
        indices = (latest["spi"], latest["cpi"], latest["green_at"], latest["amber_at"])
        assert indices == ("0.8066", "0.8000", "0.9500", "0.9000")


async def test_a_recorded_answer_is_the_bytes_json_would_write(service) -> None:
    """A delivery command's answer (`Recorded`) is written by pydantic straight to JSON: byte for byte what the
    dump through JSONResponse (`json.dumps`, no ASCII escapes, compact) wrote, with text that escapes or not."""
    await approved_project(service, "p-bytes")
    awkward = 'line\nnext\ttab \x01 "quoted" back\\slash é 😀 \u2028 </script> ünïcode'
    async with service.client("pam", "project_manager") as pam:
        answer = await pam.post(
            "/projects/p-bytes/status-reports", json=report(summary=awkward, risks=[awkward, "plain"])
        )
    assert answer.status_code == 201, answer.text
    assert answer.json()["recorded"][0]["summary"] == awkward
    rendered = json.dumps(answer.json(), ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":"))
    assert answer.content == rendered.encode("utf-8")
    assert answer.headers["content-type"] == "application/json"


async def test_bad_report_dates_are_refused_and_a_wrong_report_is_withdrawn_not_erased(service) -> None:
    await approved_project(service, "p-dates")
    url = "/projects/p-dates"
    async with service.client("bea", "board_member") as bea, service.client("pam", "project_manager") as pam:
        before = (await bea.get(url)).json()
        for period_end in ("0001-01-01", "9999-12-31", "2025-12-31", "2099-01-01"):
            refused = await pam.post(f"{url}/status-reports", json=report(period_end=period_end))
            assert refused.status_code == 422, refused.text
            assert refused.json()["errors"][0]["field"] == "period_end"
        cents = await pam.post(f"{url}/status-reports", json=report(cost="200.005"))  # EUR has two places
        assert cents.status_code == 422 and cents.json()["errors"][0]["field"] == "actual_cost", cents.text
        fraction = {
            "kind": "budget",
            "budget_delta": [{"fiscal_period": "FY2026", "amount": "1.001"}],
            "rationale": "x",
        }
        split = await pam.post(f"{url}/change-requests", json=fraction)
        assert split.status_code == 422 and split.json()["errors"][0]["field"] == "budget_delta.0.amount", split.text
        assert (await bea.get(url)).json() == before  # nothing recorded
        june = (await pam.post(f"{url}/status-reports", json=report())).json()["id"]
        wrong = (await pam.post(f"{url}/status-reports", json=report(period_end="2026-10-31", cost="900"))).json()
        assert wrong["project"]["latest_status_report"]["actual_cost"] == "900.00"
        withdraw = f"{url}/status-reports/{wrong['id']}/withdraw"
        async with service.client("vic", "viewer") as viewer:
            assert (await viewer.post(withdraw, json={"reason": "typo"})).status_code == 403
        assert (await pam.post(withdraw, json={"reason": ""})).json()["errors"][0]["field"] == "reason"
        withdrawn = await pam.post(withdraw, json={"reason": "typed 900 for 190"})
        assert withdrawn.status_code == 201, withdrawn.text
        assert withdrawn.json()["recorded"][0]["type"] == "pmo.portfolio.StatusReportWithdrawn.v1"
        assert withdrawn.json()["project"]["latest_status_report"]["report_id"] == june
        assert (await pam.post(withdraw, json={"reason": "again"})).status_code == 409
        fix = report(period_end="2026-10-31", cost="190", supersedes=june, correction_reason="new month")
        superseded = (await pam.post(f"{url}/status-reports", json=fix)).json()["recorded"][0]
        assert (superseded["correction_of"], superseded["correction_reason"]) == (june, "new month")


async def test_change_requests_obey_the_envelope_and_decreases_return_money(service) -> None:
    pid = await approved_project(service, "p-change")
    url = "/projects/p-change/change-requests"
    async with service.client("bea", "board_member") as bea, service.client("pam", "project_manager") as pam:
        too_much = {"kind": "budget", "budget_delta": [{"fiscal_period": "FY2026", "amount": "700"}], "rationale": "x"}
        raised = await pam.post(url, json=too_much)
        assert raised.status_code == 201 and raised.headers["location"] == f"{url}/{raised.json()['id']}"
        decision = {"outcome": "approved", "rationale": "needed"}
        assert (await pam.post(f"{url}/{raised.json()['id']}/decision", json=decision)).status_code == 403
        refused = await bea.post(f"{url}/{raised.json()['id']}/decision", json=decision)
        assert refused.status_code == 409 and refused.json()["type"].endswith("envelope-exceeded")
        assert refused.json()["remaining"] == "600.00"
        less = {"kind": "budget", "budget_delta": [{"fiscal_period": "FY2026", "amount": "-100"}], "rationale": "y"}
        cut = (await pam.post(url, json=less)).json()["id"]
        assert (await bea.post(f"{url}/{cut}/decision", json=decision)).status_code == 201
        assert (await bea.post(f"{url}/{cut}/decision", json=decision)).status_code == 409
        envelope = (await bea.get(f"/portfolios/{pid}")).json()["budget"][0]
        assert (envelope["committed"], envelope["remaining"]) == ("300.00", "700.00")
        assert (await bea.get("/projects/p-change")).json()["bac"] == "300.00"
        no_end = await pam.post(url, json={"kind": "schedule", "rationale": "late"})
        assert no_end.status_code == 422 and no_end.json()["errors"][0]["field"] == "new_end"
    async with service.client("mallory", "viewer") as mallory:
        assert (await mallory.post(url, json=less)).status_code == 403


async def test_pause_resume_cancel_release_budget_and_people(service) -> None:
    pid = await approved_project(service, "p-cancel")
    url = "/projects/p-cancel"
    why = {"rationale": "priorities changed"}
    async with service.client("bea", "board_member") as bea, service.client("pam", "project_manager") as pam:
        assert (await pam.post(f"{url}/pause", json=why)).status_code == 403
        assert (await bea.post(f"{url}/resume", json=why)).status_code == 409
        assert (await bea.post(f"{url}/pause", json=why)).json()["project"]["status"] == "paused"
        assert (await bea.post(f"{url}/resume", json=why)).json()["project"]["status"] == "active"
        await pam.post(f"{url}/status-reports", json=report(cost="150"))
        cancelled = await bea.post(f"{url}/cancel", json=why)
        assert cancelled.status_code == 201
        types = [e["type"] for e in cancelled.json()["recorded"]]
        assert types == ["pmo.portfolio.ProjectCancelled.v1", "pmo.portfolio.ProjectBudgetChanged.v1"]
        assert cancelled.json()["recorded"][0]["reason"] == "priorities changed"
        envelope = (await bea.get(f"/portfolios/{pid}")).json()["budget"][0]
        assert envelope["committed"] == "150.00"
        assert (await bea.post(f"{url}/cancel", json=why)).status_code == 409


async def test_close_with_lessons_then_benefits_and_lessons_after_closure(service) -> None:
    await approved_project(service, "p-close")
    url = "/projects/p-close"
    closing = {"final_cost": "380", "lessons": [{"title": "Pilot", "description": "d", "category": "delivery"}],
               "notes": "delivered"}  # fmt: skip
    async with service.client("bea", "board_member") as bea, service.client("pam", "project_manager") as pam:
        assert (await bea.post(f"{url}/close", json=closing)).status_code == 409  # still in initiate
        for gate in ("plan", "execute"):
            await bea.post(f"{url}/gates", json={"gate": gate, "decision": "proceed", "rationale": "ok"})
        closed = await bea.post(f"{url}/close", json=closing)
        assert closed.status_code == 201, closed.text
        assert [e["type"].split(".")[2] for e in closed.json()["recorded"]] == [
            "ProjectClosed", "ProjectBudgetChanged", "LessonRecorded"
        ]  # fmt: skip
        assert closed.json()["project"]["status"] == "closed"
        lesson = {"title": "Later", "description": "d", "category": "benefits", "tags": ["x"]}
        assert (await pam.post(f"{url}/lessons", json=lesson)).status_code == 201
        measured = {"measured_value": "450", "measured_on": "2026-10-31", "note": "half"}
        realised = await pam.post(f"{url}/benefits/%231/realisations", json=measured)
        assert realised.status_code == 201, realised.text
        assert (await pam.post(f"{url}/benefits/b-9/realisations", json=measured)).status_code == 404
        review = {"still_aligned": True, "recommendation": "continue", "notes": "fine"}
        assert (await bea.post(f"{url}/reviews", json=review)).status_code == 409  # closed: nothing to review


async def test_reviews_cadence_and_tolerances(service) -> None:
    pid = await approved_project(service, "p-review")
    async with service.client("ann", "pmo_analyst") as ann:
        assert (await ann.put(f"/portfolios/{pid}/review-cadence", json={"every_days": 30})).status_code == 200
        bad = await ann.put(f"/portfolios/{pid}/rag-tolerances", json={"green_at": "0.8", "amber_at": "0.9"})
        assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "green_at"
        assert (
            await ann.put(f"/portfolios/{pid}/rag-tolerances", json={"green_at": "0.8", "amber_at": "0.7"})
        ).status_code == 200
    async with service.client("bea", "board_member") as bea, service.client("pam", "project_manager") as pam:
        review = {"still_aligned": True, "recommendation": "continue", "notes": "fine"}
        assert (await pam.post("/projects/p-review/reviews", json=review)).status_code == 403
        reviewed = await bea.post("/projects/p-review/reviews", json=review)
        assert reviewed.status_code == 201
        assert reviewed.json()["project"]["review_overdue"] is False
        assert reviewed.json()["project"]["next_review_due"] is not None
        lenient = await pam.post("/projects/p-review/status-reports", json=report())
        assert lenient.json()["recorded"][0]["rag"]["overall"] == "green"  # SPI and CPI 0.80 ≥ green_at 0.8
        overdue = (await bea.get("/projects", params={"review_overdue": "true", "portfolio_id": pid})).json()
        assert overdue["items"] == []


async def test_a_withdrawn_proposal_is_refused_a_decision(service) -> None:
    portfolio = await new_portfolio(service, ["bea"])
    await register(service, portfolio["id"], "gone")
    withdrawn = ProposalWithdrawn(proposal_id="gone", portfolio_id=portfolio["id"], withdrawn_by="rita", reason="moot")
    async with service.runtime.commands.unit_of_work(Metadata(actor="rita")) as uow:
        await withdraw_candidate(uow, withdrawn)
    async with service.client("bea", "board_member") as bea:
        decided = await bea.post(
            f"/portfolios/{portfolio['id']}/decisions",
            json={"candidate_id": "gone", "outcome": "rejected", "rationale": "no"},
        )
        assert decided.status_code == 409 and "withdrawn" in decided.json()["detail"]
        listed = await bea.get(f"/portfolios/{portfolio['id']}/candidates", params={"status": "withdrawn"})
        assert [c["id"] for c in listed.json()["items"]] == ["gone"]
