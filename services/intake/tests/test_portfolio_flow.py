"""Intake follows the portfolio service's events over the real broker: facts learned, the board mirrored."""

from __future__ import annotations

import pytest

from pmo_devstack.polling import eventually
from pmo_devstack.testing import RunningService
from pmo_intake.application import knowledge

from .support import PortfolioFeed, complete_proposal

pytestmark = pytest.mark.integration


async def status_of(client, url: str, wanted: str) -> dict | None:
    body = (await client.get(url)).json()
    return body if body["status"] == wanted else None


async def test_from_submission_through_review_and_decisions(
    intake: RunningService, feed: PortfolioFeed, known: tuple[str, str]
) -> None:
    portfolio_id, objective_id = known
    async with intake.client("alice", "requester") as alice:
        url = (await alice.post("/proposals", json=complete_proposal(portfolio_id, objective_id))).headers["location"]
        proposal_id = url.rsplit("/", 1)[1]
        assert (await alice.post(f"{url}/submit")).status_code == 200

        await feed.scored(portfolio_id, proposal_id, submission=1)
        reviewed = await eventually(lambda: status_of(alice, url, "under_review"), timeout=30)
        assert reviewed["under_review_since"] is not None
        assert (await alice.patch(url, json={"title": "x"}, headers={"If-Match": '"3"'})).status_code == 409

        await feed.decided(portfolio_id, proposal_id, "request_changes", "Quantify the benefits per quarter")
        returned = await eventually(lambda: status_of(alice, url, "changes_requested"), timeout=30)
        assert (returned["decision"]["rationale"], returned["decision"]["decided_by"]) == (
            "Quantify the benefits per quarter", "bob",
        )  # fmt: skip
        edited = await alice.patch(
            url, json={"summary": "Now per quarter"}, headers={"If-Match": f'"{returned["version"]}"'}
        )
        assert edited.status_code == 200, edited.text
        again = await alice.post(f"{url}/submit", headers={"If-Match": edited.headers["etag"]})
        assert (again.json()["status"], again.json()["submission"]) == ("submitted", 2)

        await feed.scored(portfolio_id, proposal_id, submission=2)
        await eventually(lambda: status_of(alice, url, "under_review"), timeout=30)
        await feed.decided(portfolio_id, proposal_id, "approve", "Best value per euro this year")
        approved = await eventually(lambda: status_of(alice, url, "approved"), timeout=30)
        assert approved["decision"]["rationale"] == "Best value per euro this year"
        assert (await alice.post(f"{url}/withdraw", json={"reason": "too late"})).status_code == 409

        history = (await alice.get(f"{url}/history")).json()["items"]
    assert [e["event"] for e in history] == [
        "ProposalDrafted", "ProposalSubmitted", "ProposalUnderReview", "ProposalChangesRequested",
        "ProposalEdited", "ProposalSubmitted", "ProposalUnderReview", "ProposalApproved",
    ]  # fmt: skip
    assert history[3]["actor"] == "bob" and history[3]["causation_id"]


async def test_rejected_and_deferred_outcomes_are_mirrored(
    intake: RunningService, feed: PortfolioFeed, known: tuple[str, str]
) -> None:
    portfolio_id, objective_id = known
    async with intake.client("alice", "requester") as alice:
        urls = []
        for outcome in ("reject", "defer"):
            url = (await alice.post("/proposals", json=complete_proposal(portfolio_id, objective_id))).headers[
                "location"
            ]
            await alice.post(f"{url}/submit")
            await feed.decided(portfolio_id, url.rsplit("/", 1)[1], outcome, f"{outcome}: not this year")
            urls.append(url)
        rejected = await eventually(lambda: status_of(alice, urls[0], "rejected"), timeout=30)
        deferred = await eventually(lambda: status_of(alice, urls[1], "deferred"), timeout=30)
        assert rejected["decision"]["rationale"] == "reject: not this year"
        assert (await alice.post(f"{urls[1]}/submit")).json()["submission"] == 2
        assert deferred["decision"]["outcome"] == "deferred"


async def test_retired_objectives_and_a_replaced_budget_change_what_submit_accepts(
    intake: RunningService, feed: PortfolioFeed, known: tuple[str, str]
) -> None:
    portfolio_id, objective_id = known
    async with intake.client("alice", "requester") as alice:
        url = (await alice.post("/proposals", json=complete_proposal(portfolio_id, objective_id))).headers["location"]
        await feed.retire(objective_id)
        await feed.budget(portfolio_id, "FY2028", "FY2029")

        await eventually(lambda: learned_retirement_and_budget(intake, portfolio_id, objective_id), timeout=30)
        response = await alice.post(f"{url}/submit")
    assert response.status_code == 422
    assert {e["field"] for e in response.json()["errors"]} == {
        "objective_contributions.0.objective_id", "business_case.costs.0.fiscal_period",
    }  # fmt: skip


async def learned_retirement_and_budget(intake, portfolio_id: str, objective_id: str) -> bool:
    async with intake.runtime.db.sessions() as session:
        portfolio = await knowledge.portfolio_facts(session, portfolio_id)
        objectives = await knowledge.objective_facts(session, [objective_id])
    return bool(portfolio and portfolio.fiscal_periods == {"FY2028", "FY2029"} and objectives[objective_id].retired)
