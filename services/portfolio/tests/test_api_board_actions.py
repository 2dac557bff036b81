"""Reviews that act, over real HTTP with real tokens: a negative review opens an action the board resolves."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from pmo_devstack.testing import RunningService, running_service
from pmo_events.runtime import Metadata
from pmo_events.runtime.schema import events
from pmo_portfolio.delivery.commands import apply_to_project
from pmo_portfolio.delivery.domain import alignment_reviews
from pmo_portfolio.delivery.domain.lifecycle import Act

from .api_support import isolated, new_portfolio, register

pytestmark = pytest.mark.integration


@pytest.fixture
async def service(postgres_url: str, kafka_bootstrap: str, tmp_path: Path, topic_prefix: str):
    async with running_service(
        isolated(topic_prefix), database_url=postgres_url, kafka_bootstrap=kafka_bootstrap, data_dir=tmp_path
    ) as running:
        yield running


APPROVAL = {
    "candidate_id": "p-1",
    "outcome": "approved",
    "rationale": "fits the strategy",
    "approved_budget": [{"fiscal_period": "FY2027", "amount": "300.00"}],
    "override_reason": "urgent regulatory work",
    "project_manager": "pam",  # files the project's status reports and change requests (object-level access)
}


async def _running_project(service: RunningService) -> str:
    """A portfolio whose two-member board approved p-1 by a motion: the project p-1 runs."""
    pid = (await new_portfolio(service, ["bea", "bob"]))["id"]
    await register(service, pid, "p-1")
    async with service.client("bea", "board_member") as bea:
        moved = await bea.post(f"/portfolios/{pid}/motions", json=APPROVAL)
        assert moved.status_code == 201, moved.text
    async with service.client("bob", "board_member") as bob:
        votes = f"/portfolios/{pid}/motions/{moved.json()['id']}/votes"
        assert (await bob.post(votes, json={"vote": "for", "rationale": "agreed"})).json()["status"] == "carried"
    return pid


async def _review(client: Any, still_aligned: bool, recommendation: str) -> dict[str, Any]:
    body = {"still_aligned": still_aligned, "recommendation": recommendation, "notes": "the strategy moved on"}
    reviewed = await client.post("/projects/p-1/reviews", json=body)
    assert reviewed.status_code == 201, reviewed.text
    return reviewed.json()


async def test_a_negative_review_opens_an_action_the_board_pauses_the_project_by_a_motion(service) -> None:
    pid = await _running_project(service)
    async with service.client("bea", "board_member") as bea:
        fine = await _review(bea, True, "continue")
        assert [e["type"] for e in fine["recorded"]] == ["pmo.portfolio.AlignmentReviewed.v1"]
        stop = await _review(bea, False, "stop")
        opened = stop["recorded"][1]
        assert opened["type"] == "pmo.portfolio.BoardActionOpened.v1" and opened["recommendation"] == "stop"
        agenda = (await bea.get(f"/portfolios/{pid}/board-actions", params={"status": "open"})).json()["items"]
        assert [(a["id"], a["project_id"], a["overdue"]) for a in agenda] == [(opened["action_id"], "p-1", False)]
        assert agenda[0]["due_on"] == opened["due_on"]
    resolve = f"/projects/p-1/board-actions/{opened['action_id']}"
    pause = {"resolution": "pause", "rationale": "no longer aligned"}
    async with service.client("pat", "pmo_analyst", "board_member") as pat:
        refused = await pat.post(f"{resolve}/motions", json=pause)
        assert refused.status_code == 403 and refused.json()["type"].endswith("not-board-member"), refused.text
        alone = await pat.post(f"{resolve}/resolution", json=pause)
        assert alone.status_code == 403 and alone.json()["type"].endswith("not-authorised"), alone.text
    async with service.client("bea", "board_member") as bea:
        bad = await bea.post(f"{resolve}/motions", json={"resolution": "stop", "rationale": "x"})
        assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "resolution"
        moved = await bea.post(f"{resolve}/motions", json=pause)
        assert moved.status_code == 201, moved.text
        motion = moved.json()
        assert (motion["kind"], motion["reference"], motion["status"]) == ("board_action", opened["action_id"], "open")
        assert [(c["subject"], c["reason"]) for c in motion["conflicts"]] == [("rita", "requester"), ("sam", "sponsor")]
        assert (await bea.get("/projects/p-1")).json()["status"] == "active"  # nothing changes before the vote
    async with service.client("bob", "board_member") as bob:
        votes = f"/portfolios/{pid}/motions/{motion['id']}/votes"
        carried = await bob.post(votes, json={"vote": "for", "rationale": "pause it"})
        assert carried.json()["status"] == "carried", carried.text
        assert (await bob.get("/projects/p-1")).json()["status"] == "paused"
        [action] = (await bob.get(f"/portfolios/{pid}/board-actions")).json()["items"]
        assert (action["status"], action["resolution"], action["project_status"]) == ("resolved", "pause", "paused")
        again = await bob.post(f"{resolve}/motions", json=pause)
        assert again.status_code == 409 and "already resolved" in again.json()["detail"]


async def test_the_portfolio_manager_resolves_alone_below_the_threshold(service) -> None:
    pid = await _running_project(service)
    charter = {"members": ["bea", "bob"], "chair": "bea", "quorum": 2, "rule": "simple_majority",
               "delegated_authority": {"portfolio_manager": "pat", "up_to": "300.00"}}  # fmt: skip
    async with service.client("olga", "viewer") as owner:
        assert (await owner.put(f"/portfolios/{pid}/charter", json=charter)).status_code == 200
    async with service.client("bea", "board_member") as bea:
        action_id = (await _review(bea, True, "rescope"))["recorded"][1]["action_id"]
    resolution = f"/projects/p-1/board-actions/{action_id}/resolution"
    body = {"resolution": "rescope", "rationale": "narrow it to billing"}
    async with service.client("pat", "pmo_analyst") as pat:
        at_threshold = await pat.post(resolution, json=body)  # the project's 300.00 is not below 300.00
        assert at_threshold.status_code == 403 and at_threshold.json()["type"].endswith("not-authorised")
    charter["delegated_authority"] = {"portfolio_manager": "pat", "up_to": "300.01"}
    async with service.client("olga", "viewer") as owner:
        assert (await owner.put(f"/portfolios/{pid}/charter", json=charter)).status_code == 200
    async with service.client("pat", "pmo_analyst") as pat:
        resolved = await pat.post(resolution, json=body)
        assert resolved.status_code == 201, resolved.text
        [event] = resolved.json()["recorded"]
        assert (event["resolution"], event["authority"], event["resolved_by"]) == ("rescope", "delegated", "pat")
        assert resolved.json()["project"]["status"] == "active"


async def test_the_review_calendar_publishes_each_overdue_review_and_action_once(service) -> None:
    pid = await _running_project(service)
    long_ago = Act(by="bea", at=datetime(2020, 1, 6, 9, tzinfo=UTC), rationale="drifting")
    async with service.runtime.commands.unit_of_work(Metadata(actor="bea")) as uow:
        await apply_to_project(uow, "p-1", lambda pf, pr: alignment_reviews.review(pf, pr, False, "stop", long_ago))
    async with service.client("bea", "board_member") as bea:
        assert (await bea.post("/projects/notify-overdue")).status_code == 403
        overdue = (await bea.get(f"/portfolios/{pid}/board-actions", params={"overdue": "true"})).json()["items"]
        assert [a["due_on"] for a in overdue] == ["2020-01-20"]
        late = (await bea.get("/projects", params={"portfolio_id": pid, "review_overdue": "true"})).json()["items"]
        assert [p["id"] for p in late] == ["p-1"]
    async with service.client("ann", "pmo_analyst") as analyst:
        first = await analyst.post("/projects/notify-overdue")
        assert first.status_code == 200 and first.json() == {"reviews_overdue": 1, "actions_overdue": 1}
        assert (await analyst.post("/projects/notify-overdue")).json() == {"reviews_overdue": 0, "actions_overdue": 0}
    async with service.runtime.db.sessions() as session:
        query = select(events.c.type).where(events.c.stream_id == "p-1").order_by(events.c.version)
        types = [row.type.split(".")[2] for row in await session.execute(query)]
    assert types.count("ReviewOverdue") == 1 and types.count("BoardActionOverdue") == 1


async def test_a_change_request_above_the_delegated_threshold_is_decided_by_the_boards_motion(service) -> None:
    await _running_project(service)
    increase = {"kind": "budget", "budget_delta": [{"fiscal_period": "FY2027", "amount": "50"}], "rationale": "+"}
    async with service.client("pam", "project_manager") as pam:
        raised = await pam.post("/projects/p-1/change-requests", json=increase)
        assert raised.status_code == 201, raised.text
    url = f"/projects/p-1/change-requests/{raised.json()['id']}"
    approve = {"outcome": "approved", "rationale": "worth it"}
    async with service.client("bea", "board_member") as bea:
        alone = await bea.post(f"{url}/decision", json=approve)
        assert alone.status_code == 409 and alone.json()["type"].endswith("board-vote-needed"), alone.text
        assert (await bea.get("/projects/p-1")).json()["change_requests"][0]["status"] == "pending"
        moved = await bea.post(f"{url}/motions", json=approve)
        assert moved.status_code == 201, moved.text
        motion = moved.json()
        # money at the portfolio's scale (EUR: two places), as the change request was asked "50"
        assert (motion["kind"], motion["amount"], motion["status"]) == ("change_request", "50.00", "open")
        conflicts = [(c["subject"], c["reason"]) for c in motion["conflicts"]]
        assert conflicts == [("pam", "requester"), ("rita", "requester"), ("sam", "sponsor")]
    async with service.client("bob", "board_member") as bob:
        votes = f"/portfolios/{motion['portfolio_id']}/motions/{motion['id']}/votes"
        carried = (await bob.post(votes, json={"vote": "for", "rationale": "agreed"})).json()
        assert (carried["status"], carried["amount"]) == ("carried", "50.00")
        listed = (await bob.get(f"/portfolios/{motion['portfolio_id']}/motions")).json()["items"]
        assert [m["amount"] for m in listed if m["id"] == motion["id"]] == ["50.00"]
        after = (await bob.get("/projects/p-1")).json()
        assert after["change_requests"][0]["status"] == "approved" and after["bac"] == "350.00"


async def test_the_projects_requester_and_sponsor_may_not_decide_move_or_vote_on_its_change_request(service) -> None:
    """Separation of duties on change requests: rita requested p-1 and sam sponsors it; on the board (sam also
    its delegated portfolio manager) neither decides, moves nor votes on pam's change (403, nothing recorded)."""
    pid = await _running_project(service)
    charter = {"members": ["bea", "bob", "rita", "sam"], "chair": "bea", "quorum": 2, "rule": "simple_majority",
               "delegated_authority": {"portfolio_manager": "sam", "up_to": "100.00"}}  # fmt: skip
    async with service.client("olga", "viewer") as owner:
        assert (await owner.put(f"/portfolios/{pid}/charter", json=charter)).status_code == 200
    increase = {"kind": "budget", "budget_delta": [{"fiscal_period": "FY2027", "amount": "50"}], "rationale": "+"}
    async with service.client("pam", "project_manager") as pam:
        raised = await pam.post("/projects/p-1/change-requests", json=increase)
        assert raised.status_code == 201, raised.text
    url = f"/projects/p-1/change-requests/{raised.json()['id']}"
    approve = {"outcome": "approved", "rationale": "worth it"}

    async def recorded() -> int:
        async with service.runtime.db.sessions() as session:
            return len((await session.execute(select(events.c.type))).all())

    before = await recorded()
    async with service.client("sam", "board_member") as sam:
        alone = await sam.post(f"{url}/decision", json=approve)  # delegated, below the threshold, but the sponsor
        assert alone.status_code == 403 and alone.json()["type"].endswith("conflict-of-interest"), alone.text
        assert "sponsor" in alone.json()["detail"]
        refused = await sam.post(f"{url}/motions", json=approve)
        assert refused.status_code == 403 and refused.json()["type"].endswith("conflict-of-interest"), refused.text
    async with service.client("rita", "board_member") as rita:
        refused = await rita.post(f"{url}/motions", json={"outcome": "rejected", "rationale": "no"})
        assert refused.status_code == 403 and refused.json()["type"].endswith("conflict-of-interest"), refused.text
        assert "requester" in refused.json()["detail"]
        assert (await rita.get("/projects/p-1")).json()["change_requests"][0]["status"] == "pending"
    assert await recorded() == before

    async with service.client("bea", "board_member") as bea:
        moved = await bea.post(f"{url}/motions", json=approve)
        assert moved.status_code == 201, moved.text
        motion = moved.json()
        conflicts = [(c["subject"], c["reason"]) for c in motion["conflicts"]]
        assert conflicts == [("pam", "requester"), ("rita", "requester"), ("sam", "sponsor")]
    votes = f"/portfolios/{pid}/motions/{motion['id']}/votes"
    before = await recorded()
    for conflicted in ("rita", "sam"):
        async with service.client(conflicted, "board_member") as member:
            vote = await member.post(votes, json={"vote": "for", "rationale": "mine"})
            assert vote.status_code == 403 and vote.json()["type"].endswith("conflict-of-interest"), vote.text
    assert await recorded() == before
    async with service.client("bob", "board_member") as bob:
        assert (await bob.post(votes, json={"vote": "for", "rationale": "agreed"})).json()["status"] == "carried"
        after = (await bob.get("/projects/p-1")).json()
        assert after["change_requests"][0]["status"] == "approved" and after["bac"] == "350.00"
