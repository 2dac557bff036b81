"""The walking skeleton end to end: the embedded stack as real processes, driven over HTTP.

One initiative keeps one id from intake to the project; every service is killed with SIGKILL in the
middle of a load and started again, then the whole stack restarts on an empty broker: nothing is
lost and nothing is duplicated.
"""

from __future__ import annotations

import collections
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from pmo_devstack.broker import free_port
from pmo_devstack.keys import dev_key_paths, mint_token
from pmo_devstack.polling import wait_until
from pmo_devstack.stack import SERVICES, Stack

pytestmark = pytest.mark.e2e

PROPOSALS = 12
OBJECTIVE: dict[str, str] = {}


class Driver:
    """Talks to the running stack as different people."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.private_key = dev_key_paths(stack.data_dir)[0].read_bytes()

    def client(self, service: str, subject: str, *roles: str) -> httpx.Client:
        token = mint_token(self.private_key, subject=subject, roles=list(roles))
        return httpx.Client(base_url=self.stack.url(service), headers={"Authorization": f"Bearer {token}"}, timeout=30)


@pytest.fixture(scope="module")
def logs() -> collections.deque[str]:
    return collections.deque(maxlen=400)


def _stack(data_dir: Path, logs: collections.deque[str], ports: dict[str, int]) -> Stack:
    return Stack(data_dir, ports=ports, log=logs.append, extra_env={"PMO_LOG_LEVEL": "warning"})


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, logs: collections.deque[str]) -> Iterator[dict[str, Any]]:
    data_dir = tmp_path_factory.mktemp("stack")
    ports = {name: free_port() for name in SERVICES}
    stack = _stack(data_dir, logs, ports)
    try:
        stack.start()
    except Exception:
        print("\n".join(logs))
        raise
    state: dict[str, Any] = {"stack": stack, "data_dir": data_dir, "ports": ports}
    yield state
    state["stack"].stop()


def _body(portfolio_id: str, n: int) -> dict[str, Any]:
    return {
        "title": f"Initiative {n}",
        "portfolio_id": portfolio_id,
        "summary": "Replace the CRM",
        "sponsor": "carol",
        "objective_contributions": [{"objective_id": OBJECTIVE["id"], "contribution": 4}],
        "business_case": {
            "currency": "EUR",
            "costs": [{"fiscal_period": "FY2027", "amount": "10000.00"}],
            "benefits": [{"description": "faster sales", "kind": "financial", "value_amount": "25000"}],
        },
        "timeline": {"start": "2027-01-01", "end": "2027-12-31"},
        "resource_estimate": [{"role": "developer", "fte": "0.5", "start": "2027-01-01", "end": "2027-06-30"}],
        "risk_level": "medium",
    }


def test_one_initiative_from_proposal_to_project(world: dict[str, Any], logs: collections.deque[str]) -> None:
    driver = Driver(world["stack"])
    analyst = driver.client("portfolio", "paula", "pmo_analyst")
    portfolio = analyst.post(
        "/portfolios",
        json={
            "name": "Change",
            "currency": "EUR",
            "owner": "olga",
            "budget": [{"fiscal_period": "FY2027", "amount": "500000.00"}],
            "board_members": ["bob"],
        },
    )
    assert portfolio.status_code == 201, portfolio.text
    portfolio_id = portfolio.json()["id"]
    world["portfolio_id"] = portfolio_id
    objective = analyst.post(
        "/objectives",
        json={"title": "Grow revenue", "weight": "3", "period": {"start": "2026-01-01", "end": "2028-12-31"}},
    )
    assert objective.status_code == 201, objective.text
    world["objective_id"] = OBJECTIVE["id"] = objective.json()["id"]

    alice = driver.client("intake", "alice", "requester")
    proposal = alice.post("/proposals", json=_body(portfolio_id, 0))
    assert proposal.status_code == 201, proposal.text
    proposal_id = proposal.json()["id"]
    # Intake learns the portfolio from the portfolio service's events, never by calling it.
    submitted = wait_until(lambda: (r := alice.post(f"/proposals/{proposal_id}/submit")).status_code == 200 and r)
    assert submitted.json()["status"] == "submitted"

    board = driver.client("portfolio", "bob", "board_member")
    wait_until(lambda: _candidate_ids(board, portfolio_id) == {proposal_id})
    stranger = driver.client("portfolio", "mallory", "board_member", "admin")
    decision = {
        "candidate_id": proposal_id,
        "outcome": "approved",
        "rationale": "Best value for FY2027",
        "approved_budget": [{"fiscal_period": "FY2027", "amount": "10000.00"}],
    }
    assert stranger.post(f"/portfolios/{portfolio_id}/decisions", json=decision).status_code == 403
    approved = board.post(f"/portfolios/{portfolio_id}/decisions", json=decision)
    assert approved.status_code == 201, approved.text

    assert wait_until(lambda: alice.get(f"/proposals/{proposal_id}").json()["status"] == "approved")
    project = board.get(f"/projects/{proposal_id}")
    assert project.status_code == 200 and project.json()["status"] == "active"
    resourcing = driver.client("resourcing", "rita", "resource_manager")
    demands = wait_until(lambda: resourcing.get("/demands", params={"project_id": proposal_id}).json()["items"])
    assert [(d["role"], d["fte"]) for d in demands] == [("developer", "0.5000")]
    reporting = driver.client("reporting", "victor", "viewer")
    audit = wait_until(lambda: reporting.get("/reports/decisions", params={"limit": 200}).json()["items"])
    assert [(d["subject_id"], d["outcome"], d["decided_by"], d["rationale"]) for d in audit] == [
        (proposal_id, "approved", "bob", "Best value for FY2027")
    ]
    assert portfolio_remaining(board, portfolio_id) == "490000.00"


def test_sigkill_of_each_service_mid_load_loses_and_duplicates_nothing(world: dict[str, Any]) -> None:
    stack: Stack = world["stack"]
    driver = Driver(stack)
    portfolio_id = world["portfolio_id"]
    alice = driver.client("intake", "alice", "requester")
    board = driver.client("portfolio", "bob", "board_member")
    ids = []
    for n in range(1, PROPOSALS + 1):
        proposal_id = alice.post("/proposals", json=_body(portfolio_id, n)).json()["id"]
        assert alice.post(f"/proposals/{proposal_id}/submit").status_code == 200
        ids.append(proposal_id)
        if n == PROPOSALS // 2:
            stack.kill_service("portfolio", signal.SIGKILL)  # its consumer dies mid-stream
            stack.start_service("portfolio")
    wait_until(lambda: len(_candidate_ids(board, portfolio_id)) == PROPOSALS + 1)

    for n, proposal_id in enumerate(ids, start=1):
        decision = {
            "candidate_id": proposal_id,
            "outcome": "approved",
            "rationale": f"round {n}",
            "approved_budget": [{"fiscal_period": "FY2027", "amount": "10000.00"}],
        }
        assert board.post(f"/portfolios/{portfolio_id}/decisions", json=decision).status_code == 201
        if n == 4:
            stack.kill_service("resourcing", signal.SIGKILL)
        if n == 6:
            stack.kill_service("reporting", signal.SIGKILL)
        if n == 8:
            stack.kill_service("intake", signal.SIGKILL)
            stack.start_service("intake")
    stack.start_service("resourcing")
    stack.start_service("reporting")
    world["expected"] = expected = snapshot(driver, portfolio_id, wait_for=PROPOSALS + 1)
    assert len(expected["decisions"]) == PROPOSALS + 1
    assert len(expected["demands"]) == PROPOSALS + 1
    assert set(expected["statuses"].values()) == {"approved"}
    assert expected["remaining"] == "370000.00"


def test_restart_on_an_empty_broker_answers_as_before(world: dict[str, Any], logs: collections.deque[str]) -> None:
    """A second `make run`: the embedded broker kept nothing, every service's store is the truth."""
    world["stack"].stop()
    stack = _stack(world["data_dir"], logs, world["ports"])
    world["stack"] = stack
    stack.start()
    driver = Driver(stack)
    after = snapshot(driver, world["portfolio_id"], wait_for=PROPOSALS + 1)
    assert after == world["expected"]
    # And the flow still works on the new broker.
    alice = driver.client("intake", "alice", "requester")
    proposal_id = alice.post("/proposals", json=_body(world["portfolio_id"], 99)).json()["id"]
    assert alice.post(f"/proposals/{proposal_id}/submit").status_code == 200
    board = driver.client("portfolio", "bob", "board_member")
    wait_until(lambda: proposal_id in _candidate_ids(board, world["portfolio_id"]))
    reporting = driver.client("reporting", "victor", "viewer")
    history = wait_until(lambda: _types(reporting, proposal_id) if len(_types(reporting, proposal_id)) >= 3 else None)
    assert history[:2] == ["pmo.intake.ProposalDrafted.v1", "pmo.intake.ProposalSubmitted.v1"]


def snapshot(driver: Driver, portfolio_id: str, *, wait_for: int) -> dict[str, Any]:
    """What every service answers, once each has caught up with `wait_for` approvals."""
    reporting = driver.client("reporting", "victor", "viewer")
    resourcing = driver.client("resourcing", "rita", "resource_manager")
    board = driver.client("portfolio", "bob", "board_member")
    intake = driver.client("intake", "alice", "requester")
    wait_until(lambda: len(reporting.get("/reports/decisions", params={"limit": 200}).json()["items"]) >= wait_for)
    wait_until(lambda: len(resourcing.get("/demands", params={"limit": 200}).json()["items"]) >= wait_for)
    candidates = board.get(f"/portfolios/{portfolio_id}/candidates").json()["items"]
    statuses = wait_until(lambda: _statuses(intake, [c["id"] for c in candidates]))
    time.sleep(1.0)  # anything duplicated would arrive now
    return {
        "decisions": sorted(
            (d["id"], d["subject_id"], d["outcome"])
            for d in reporting.get("/reports/decisions", params={"limit": 200}).json()["items"]
        ),
        "demands": sorted(
            (d["id"], d["project_id"]) for d in resourcing.get("/demands", params={"limit": 200}).json()["items"]
        ),
        "candidates": sorted((c["id"], c["status"]) for c in candidates),
        "statuses": statuses,
        "remaining": portfolio_remaining(board, portfolio_id),
        "history_sizes": {c["id"]: len(_types(reporting, c["id"])) for c in candidates},
    }


def _statuses(intake: httpx.Client, ids: list[str]) -> dict[str, str] | None:
    statuses = {i: intake.get(f"/proposals/{i}").json()["status"] for i in ids}
    return statuses if set(statuses.values()) == {"approved"} else None


def _candidate_ids(client: httpx.Client, portfolio_id: str) -> set[str]:
    return {c["id"] for c in client.get(f"/portfolios/{portfolio_id}/candidates").json()["items"]}


def _types(reporting: httpx.Client, entity_id: str) -> list[str]:
    return [e["type"] for e in reporting.get(f"/history/{entity_id}", params={"limit": 200}).json()["items"]]


def portfolio_remaining(client: httpx.Client, portfolio_id: str) -> str:
    budget = client.get(f"/portfolios/{portfolio_id}").json()["budget"]
    return next(b["remaining"] for b in budget if b["fiscal_period"] == "FY2027")


def test_cancelling_a_project_returns_its_budget_and_releases_its_people(world: dict[str, Any]) -> None:
    """Portfolio cancels; resourcing (bookings, demand) and reporting learn it from the events alone."""
    driver = Driver(world["stack"])
    board = driver.client("portfolio", "bob", "board_member")
    manager = driver.client("resourcing", "rita", "resource_manager")
    reporting = driver.client("reporting", "victor", "viewer")
    project_id = next(c for c, status in world["expected"]["candidates"] if status == "approved")
    demand = manager.get("/demands", params={"project_id": project_id}).json()["items"][0]
    person = manager.post("/resources", json={"name": "Ana", "kind": "person", "role": "developer", "fte": "1.0"})
    assert person.status_code == 201, person.text
    booking = manager.post(
        "/allocations",
        json={
            "resource_id": person.json()["id"],
            "project_id": project_id,
            "demand_id": demand["id"],
            "start": demand["start"],
            "end": demand["end"],
            "fte": demand["fte"],
            "status": "confirmed",
        },
    )
    assert booking.status_code == 201, booking.text
    before = portfolio_remaining(board, world["portfolio_id"])

    cancelled = board.post(f"/projects/{project_id}/cancel", json={"rationale": "Superseded by a vendor product"})
    assert cancelled.status_code == 201, cancelled.text
    assert board.get(f"/projects/{project_id}").json()["status"] == "cancelled"
    assert portfolio_remaining(board, world["portfolio_id"]) == f"{float(before) + 10000:.2f}"
    wait_until(lambda: manager.get(f"/allocations/{booking.json()['id']}").json()["status"] == "released")
    wait_until(
        lambda: manager.get("/demands", params={"project_id": project_id}).json()["items"][0]["status"] == "cancelled"
    )
    wait_until(lambda: reporting.get(f"/reports/projects/{project_id}").json().get("status") == "cancelled")
