"""Reviews that act, end to end (issue 15): the embedded stack as real processes, driven over HTTP.

A running project with a confirmed booking is reviewed and found no longer aligned: the review opens a board
action; a member moves to pause the project and a second member's vote carries the motion, which pauses the
project in the vote's transaction. Resourcing releases the project's bookings from the events alone, and
reporting's decision audit shows the board action's resolution and the motion with every vote.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from pmo_devstack.polling import wait_until

from .test_initiative_flow import Running, _decisions, approved_project, logs, new_world

pytestmark = pytest.mark.e2e
__all__ = ["logs"]


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory, logs: Any) -> Iterator[Running]:
    stack = Running(tmp_path_factory.mktemp("reviews"), logs)
    stack.start()
    yield stack
    stack.stack.stop()


@pytest.mark.timeout(900)
def test_a_negative_review_opens_an_action_the_board_pauses_the_project_and_every_service_follows(
    running: Running,
) -> None:
    world = new_world(running)
    project_id = approved_project(world)  # bob, the whole board then, approved it
    owner = world.client("portfolio", "olga", "viewer")
    charter = {"members": ["bob", "carla"], "chair": "bob", "quorum": 2, "rule": "simple_majority"}
    assert owner.put(f"/portfolios/{world.portfolio_id}/charter", json=charter).status_code == 200

    manager = world.client("resourcing", "rita", "resource_manager")
    demand = wait_until(lambda: manager.get("/demands", params={"project_id": project_id}).json()["items"])[0]
    person = manager.post("/resources", json={"name": "Ana", "kind": "person", "role": "developer", "fte": "1.0"})
    assert person.status_code == 201, person.text
    booking = manager.post("/allocations", json={
        "resource_id": person.json()["id"], "project_id": project_id, "demand_id": demand["id"],
        "start": demand["start"], "end": demand["end"], "fte": demand["fte"], "status": "confirmed"})  # fmt: skip
    assert booking.status_code == 201, booking.text

    bob = world.client("portfolio", "bob", "board_member")
    review = {"still_aligned": False, "recommendation": "stop", "notes": "the CRM strategy changed"}
    reviewed = bob.post(f"/projects/{project_id}/reviews", json=review)
    assert reviewed.status_code == 201, reviewed.text
    [opened] = [e for e in reviewed.json()["recorded"] if e["type"] == "pmo.portfolio.BoardActionOpened.v1"]
    agenda = bob.get(f"/portfolios/{world.portfolio_id}/board-actions", params={"status": "open"}).json()["items"]
    assert [a["id"] for a in agenda] == [opened["action_id"]]

    pause = {"resolution": "pause", "rationale": "hold until the new strategy is set"}
    moved = bob.post(f"/projects/{project_id}/board-actions/{opened['action_id']}/motions", json=pause)
    assert moved.status_code == 201 and moved.json()["status"] == "open", moved.text
    assert bob.get(f"/projects/{project_id}").json()["status"] == "active"  # one vote of the two needed
    carla = world.client("portfolio", "carla", "board_member")
    vote = {"vote": "for", "rationale": "agreed: pause it"}
    carried = carla.post(f"/portfolios/{world.portfolio_id}/motions/{moved.json()['id']}/votes", json=vote)
    assert carried.status_code == 200 and carried.json()["status"] == "carried", carried.text
    assert bob.get(f"/projects/{project_id}").json()["status"] == "paused"

    wait_until(
        lambda: manager.get(f"/allocations/{booking.json()['id']}").json()["status"] == "released",
        "release",
        timeout=240,
    )
    reporting = world.client("reporting", "victor", "viewer")
    reporting.timeout = httpx.Timeout(120)  # a loaded machine: reporting reads the whole trail

    def the_resolution() -> dict[str, Any] | None:
        return next((d for d in _decisions(reporting, world.portfolio_id) if d["kind"] == "board_action"), None)

    resolution = wait_until(the_resolution, "the board action in reporting's audit", timeout=240)
    assert (resolution["outcome"], resolution["authority"], resolution["motion_id"]) == (
        "pause", "board", moved.json()["id"]
    )  # fmt: skip
    votes = [("bob", "for", pause["rationale"]), ("carla", "for", vote["rationale"])]
    assert [(v["voter"], v["vote"], v["rationale"]) for v in resolution["votes"]] == votes
    motion = next(
        d
        for d in _decisions(reporting, world.portfolio_id)
        if d["kind"] == "motion" and d.get("motion_kind") == "board_action"
    )
    assert motion["result"] == "carried" and [(v["voter"], v["vote"]) for v in motion["votes"]] == [
        ("bob", "for"), ("carla", "for")
    ]  # fmt: skip
    wait_until(
        lambda: reporting.get(f"/reports/projects/{project_id}").json().get("status") == "paused", "paused", timeout=240
    )
