"""Lessons reach the next team (issue 15), across the services: the embedded stack as real processes.

A project approved in the portfolio records a lesson; intake learns it over the broker and offers it, with
its reason, to a new proposal that needs it; the proposal's team acknowledges it; the next project to pass a
gate in the portfolio is offered it too.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from pmo_devstack.polling import wait_until

from .test_initiative_flow import Running, logs
from .test_programme_flow import PATIENCE, Office, ok

pytestmark = pytest.mark.e2e
__all__ = ["logs"]

COST = "100000.00"


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory, logs: Any) -> Iterator[Running]:
    stack = Running(tmp_path_factory.mktemp("lessons"), logs)
    stack.start()
    yield stack
    stack.stack.stop()


def approve(office: Office, proposal_id: str) -> None:
    candidates = f"/portfolios/{office.portfolio_id}/candidates"
    known = lambda: proposal_id in {c["id"] for c in office.bob.get(candidates).json()["items"]}  # noqa: E731
    wait_until(known, "the candidate", timeout=PATIENCE)
    decision = {"candidate_id": proposal_id, "outcome": "approved", "rationale": "needed",
                "override_reason": "fast-tracked: no scoring round",
                "approved_budget": [{"fiscal_period": "FY2026", "amount": COST}]}  # fmt: skip
    ok(office.bob.post(f"/portfolios/{office.portfolio_id}/decisions", json=decision))
    wait_until(lambda: office.bob.get(f"/projects/{proposal_id}").status_code == 200, "the project", timeout=PATIENCE)


def test_a_lesson_recorded_in_portfolio_is_offered_to_a_new_proposal_in_intake(running: Running) -> None:
    office = Office(running)
    done = office.proposal("Vendor selection for payroll")
    approve(office, done)
    lesson = {"title": "Vendor contract signed late", "description": "Negotiating the licences took four months",
              "category": "procurement", "tags": ["vendor"]}  # fmt: skip
    lesson_id = ok(office.bob.post(f"/projects/{done}/lessons", json=lesson))["id"]

    alice = running.client("intake", "alice", "requester")
    drafted = {"title": "CRM vendor procurement", "portfolio_id": office.portfolio_id, "summary": "a new contract"}
    proposal_id = ok(alice.post("/proposals", json=drafted))["id"]
    offered = lambda: alice.get(f"/proposals/{proposal_id}/related-lessons").json()["items"]  # noqa: E731
    wait_until(lambda: bool(offered()), "intake to learn the lesson", timeout=PATIENCE)
    (item,) = offered()
    assert (item["lesson_id"], item["project_id"]) == (lesson_id, done)
    assert (
        item["reason"]
        == "same category: procurement; tags: vendor; words: vendor, procurement, contract; same portfolio"
    )
    said = {"applies": True, "note": "we start the vendor selection before the plan gate"}
    acknowledged = ok(alice.post(f"/proposals/{proposal_id}/related-lessons/{lesson_id}/acknowledge", json=said))
    assert (acknowledged["applies"], acknowledged["acknowledged_by"]) == (True, "alice")

    following = office.proposal("Payroll vendor migration")
    approve(office, following)
    ok(office.bob.post(f"/projects/{following}/gates", json={"gate": "plan", "decision": "proceed", "rationale": "ok"}))
    (for_project,) = ok(office.bob.get(f"/projects/{following}/related-lessons"))["items"]
    assert (for_project["lesson_id"], for_project["matched_tags"]) == (lesson_id, ["vendor"])

    # Reporting shows the offers and the acknowledgement: the proposal's team said the lesson applies; the
    # project's team has not answered yet, so the lesson is open for it; the library counts both offers.
    reporting = office.reporting
    feedback = f"/reports/lessons/feedback?portfolio_id={office.portfolio_id}"

    def reported() -> dict[tuple[str, str], Any] | None:
        rows = {(r["subject"], r["subject_id"]): r for r in ok(reporting.get(feedback))["items"]
                if r["lesson_id"] == lesson_id}  # fmt: skip
        done_yet = ("project", following) in rows and rows.get(("proposal", proposal_id), {}).get("acknowledged")
        return rows if done_yet else None

    rows = wait_until(reported, "reporting to show the offers and the acknowledgement", timeout=PATIENCE)
    by_proposal = rows[("proposal", proposal_id)]
    assert (by_proposal["applies"], by_proposal["acknowledged_by"], by_proposal["occasion"]) == (
        True,
        "alice",
        "drafted",
    )
    assert by_proposal["reason"] == item["reason"] and by_proposal["title"] == "Vendor contract signed late"
    by_project = rows[("project", following)]
    assert (by_project["occasion"], by_project["acknowledged"]) == ("plan", False)
    open_ones = ok(reporting.get(f"{feedback}&acknowledged=false"))["items"]
    assert ("project", following, lesson_id) in {(r["subject"], r["subject_id"], r["lesson_id"]) for r in open_ones}
    assert ("proposal", proposal_id, lesson_id) not in {
        (r["subject"], r["subject_id"], r["lesson_id"]) for r in open_ones
    }
    (in_library,) = [
        entry for entry in ok(reporting.get("/reports/lessons"))["items"] if entry["lesson_id"] == lesson_id
    ]
    assert in_library["times_offered"] >= 2 and in_library["acknowledged_applies"] == 1
    assert in_library["last_offered_at"] == max(r["last_offered_at"] for r in rows.values())
