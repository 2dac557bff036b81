"""Separation of duties and the ladder over real HTTP with real tokens: the cases issue 15 found, refused."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from pmo_devstack.testing import running_service
from pmo_events.runtime import Metadata
from pmo_portfolio import governance
from pmo_portfolio.governance.domain.motions import MotionTerms

from .api_support import isolated, new_portfolio, register, weighted_model

pytestmark = pytest.mark.integration


@pytest.fixture
async def service(postgres_url: str, kafka_bootstrap: str, tmp_path: Path, topic_prefix: str):
    async with running_service(
        isolated(topic_prefix), database_url=postgres_url, kafka_bootstrap=kafka_bootstrap, data_dir=tmp_path
    ) as running:
        yield running


def _approve(candidate_id: str, amount: str, **extra: str) -> dict[str, Any]:
    return {
        "candidate_id": candidate_id,
        "outcome": "approved",
        "rationale": "fits the strategy",
        "approved_budget": [{"fiscal_period": "FY2027", "amount": amount}],
        **extra,
    }


async def test_nobody_approves_their_own_proposal_nor_an_unscored_one_without_a_reason(service) -> None:
    """rita holds requester and board_member and requested p-1; the board is rita alone with bea."""
    pid = (await new_portfolio(service, ["rita", "bea"]))["id"]
    await weighted_model(service, pid)
    await register(service, pid, "p-1")  # requested by rita, sponsored by sam
    async with service.client("rita", "requester", "board_member") as rita:
        own = await rita.post(f"/portfolios/{pid}/decisions", json=_approve("p-1", "100", override_reason="mine"))
        assert own.status_code == 403 and own.json()["type"].endswith("conflict-of-interest"), own.text
    async with service.client("bea", "board_member") as bea:
        unscored = await bea.post(f"/portfolios/{pid}/decisions", json=_approve("p-1", "100"))
        assert unscored.status_code == 422 and unscored.json()["errors"][0]["field"] == "override_reason"
        moved = await bea.post(f"/portfolios/{pid}/decisions", json=_approve("p-1", "100", override_reason="urgent"))
        # rita is conflicted: bea alone is the whole electorate, and the quorum (2) can no longer be reached.
        assert moved.status_code == 409 and "quorum" in moved.json()["detail"], moved.text
    async with service.client("ann", "pmo_analyst") as analyst:
        await analyst.post(f"/portfolios/{pid}/candidates/p-1/scores", json={"scores": {"value": 4, "risk": 2}})
    async with service.client("olga", "viewer") as owner:
        charter = {"members": ["rita", "bea", "bob"], "chair": "bea", "quorum": 2, "rule": "simple_majority"}
        assert (await owner.put(f"/portfolios/{pid}/charter", json=charter)).status_code == 200
    async with service.client("bea", "board_member") as bea:
        moved = await bea.post(f"/portfolios/{pid}/motions", json=_approve("p-1", "100"))
        assert moved.status_code == 201, moved.text
    votes = f"/portfolios/{pid}/motions/{moved.json()['id']}/votes"
    async with service.client("rita", "requester", "board_member") as rita:
        refused = await rita.post(votes, json={"vote": "for", "rationale": "my own idea"})
        assert refused.status_code == 403 and refused.json()["type"].endswith("conflict-of-interest")
    async with service.client("bob", "board_member") as bob:
        carried = await bob.post(votes, json={"vote": "for", "rationale": "scored well"})
        assert carried.status_code == 200 and carried.json()["status"] == "carried"
        [decision] = (await bob.get(f"/portfolios/{pid}/decisions")).json()["items"]
    assert decision["authority"] == "board" and decision["evidence"]["weighted_score"] is not None
    assert [(v["voter"], v["vote"]) for v in decision["evidence"]["votes"]] == [("bea", "for"), ("bob", "for")]


async def test_nobody_joins_a_board_themself_and_a_token_without_roles_decides_nothing(service) -> None:
    pid = (await new_portfolio(service, ["bea"]))["id"]
    await register(service, pid, "p-1")
    async with service.client("ann", "pmo_analyst") as analyst:
        joined = await analyst.post(f"/portfolios/{pid}/board", json={"subject": "ann"})
        assert joined.status_code == 403, joined.text
        charter = {"members": ["ann"], "chair": "ann", "quorum": 1, "rule": "simple_majority"}
        assert (await analyst.put(f"/portfolios/{pid}/charter", json=charter)).status_code == 403
    async with service.client("bea") as no_roles:
        decided = await no_roles.post(f"/portfolios/{pid}/decisions", json=_approve("p-1", "10", override_reason="x"))
        assert decided.status_code == 403 and decided.json()["type"].endswith("forbidden")
    async with service.client("olga", "viewer") as owner:
        view = (await owner.get(f"/portfolios/{pid}")).json()
        assert view["board_members"] == ["bea"] and view["charter"]["version"] == 1


async def test_the_ladder_delegated_below_the_threshold_the_board_above(service) -> None:
    pid = (await new_portfolio(service, ["bea", "bob"]))["id"]
    await weighted_model(service, pid)
    for proposal in ("small", "large"):
        await register(service, pid, proposal)
        async with service.client("ann", "pmo_analyst") as analyst:
            await analyst.post(
                f"/portfolios/{pid}/candidates/{proposal}/scores", json={"scores": {"value": 4, "risk": 2}}
            )
    charter = {"members": ["bea", "bob"], "chair": "bea", "quorum": 2, "rule": "simple_majority",
               "delegated_authority": {"portfolio_manager": "pat", "up_to": "250.00"}}  # fmt: skip
    async with service.client("pat", "viewer") as pat_as_owner_no:
        assert (await pat_as_owner_no.put(f"/portfolios/{pid}/charter", json=charter)).status_code == 403
    async with service.client("olga", "viewer") as owner:
        assert (await owner.put(f"/portfolios/{pid}/charter", json=charter)).json()["charter"]["version"] == 2
    async with service.client("pat", "pmo_analyst") as pat:
        small = await pat.post(f"/portfolios/{pid}/decisions", json=_approve("small", "249.99"))
        assert small.status_code == 201, small.text
        assert (small.json()["authority"], small.json()["evidence"]["charter_version"]) == ("delegated", 2)
        large = await pat.post(f"/portfolios/{pid}/decisions", json=_approve("large", "250.00"))
        assert large.status_code == 403 and large.json()["type"].endswith("not-board-member"), large.text
    async with service.client("bea", "board_member") as bea:
        alone = await bea.post(f"/portfolios/{pid}/decisions", json=_approve("large", "250.00"))
        assert alone.status_code == 409 and alone.json()["type"].endswith("board-vote-needed")
        moved = await bea.post(f"/portfolios/{pid}/motions", json=_approve("large", "250.00"))
        assert moved.status_code == 201 and moved.json()["amount"] == "250.00"
        motion_id = moved.json()["id"]
    async with service.client("bob", "board_member") as bob:
        declared = await bob.post(f"/portfolios/{pid}/motions/{motion_id}/conflicts", json={"reason": "my team"})
        assert declared.status_code == 200, declared.text
        # With bob conflicted only bea may vote: the quorum of 2 can no longer be reached.
        assert declared.json()["status"] == "defeated"
        late = await bob.post(f"/portfolios/{pid}/motions/{motion_id}/votes", json={"vote": "for", "rationale": "x"})
        assert late.status_code == 409
        motion = (await bob.get(f"/portfolios/{pid}/motions/{motion_id}")).json()
        assert motion["conflicts"][-1] == {"subject": "bob", "reason": "my team", "declared": True}
    async with service.client("ann", "pmo_analyst") as analyst:
        assert (await analyst.post("/motions/lapse-due")).json() == {"lapsed": 0}  # nothing is past its deadline
    async with service.client("bea", "board_member") as bea:
        assert (await bea.post("/motions/lapse-due")).status_code == 403


async def test_a_vote_after_the_deadline_answers_409_naming_it_and_the_sweep_lapses_the_motion(service) -> None:
    pid = (await new_portfolio(service, ["bea", "bob"]))["id"]
    await register(service, pid, "p-1")
    now = datetime.now(UTC)
    terms = MotionTerms(kind="investment", subject_id="p-1", outcome="reject", rationale="not now")
    async with service.runtime.commands.unit_of_work(Metadata(actor="bea")) as uow:
        motion, _ = await governance.propose_motion(
            uow, pid, "m-late", terms, "bea", now, deadline=now + timedelta(seconds=1)
        )
    assert motion.deadline is not None
    await asyncio.sleep(max(0.0, (motion.deadline - datetime.now(UTC)).total_seconds()) + 0.2)
    async with service.client("bob", "board_member") as bob:
        late = await bob.post(f"/portfolios/{pid}/motions/m-late/votes", json={"vote": "for", "rationale": "late"})
        assert late.status_code == 409, late.text
        problem = late.json()
        assert problem["type"].endswith("voting-closed") and problem["deadline"] in problem["detail"]
        assert datetime.fromisoformat(problem["deadline"]) == motion.deadline
        assert (await bob.get(f"/portfolios/{pid}/motions/m-late")).json()["votes"] == []  # nothing was taken
    async with service.client("ann", "pmo_analyst") as analyst:
        assert (await analyst.post("/motions/lapse-due")).json() == {"lapsed": 1}
    async with service.client("bob", "board_member") as bob:
        assert (await bob.get(f"/portfolios/{pid}/motions/m-late")).json()["status"] == "lapsed"
