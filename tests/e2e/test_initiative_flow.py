"""The walking skeleton end to end: the embedded stack as real processes, driven over HTTP.

One initiative keeps one id from intake to the project; every service is killed with SIGKILL in the
middle of a load and started again, then the whole stack restarts on an empty broker: nothing is
lost and nothing is duplicated. The stack is shared by the module; every test builds its own world
(a portfolio, an objective, its proposals) in a fixture, so each one runs alone, in any order.
"""

from __future__ import annotations

import collections
import functools
import signal
import sqlite3
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from pmo_devstack.broker import free_port, start_broker
from pmo_devstack.keys import dev_key_paths, mint_token
from pmo_devstack.polling import wait_until
from pmo_devstack.proxy import TcpProxy
from pmo_devstack.stack import SERVICES, Stack
from pmo_events.contracts import TOPICS
from pmo_intake.bootstrap import INTAKE
from pmo_portfolio.bootstrap import PORTFOLIO
from pmo_reporting.bootstrap import REPORTING
from pmo_resourcing.bootstrap import RESOURCING

pytestmark = pytest.mark.e2e

PROPOSALS = 12
#: Each approval in these tests takes this much of the FY2027 envelope.
COST = "10000.00"
DEFINITIONS = (INTAKE, PORTFOLIO, RESOURCING, REPORTING)


class Running:
    """The module's stack; a test that restarts it leaves the new one here for the tests after it."""

    def __init__(self, data_dir: Path, logs: collections.deque[str], bootstrap_servers: str | None = None) -> None:
        self.data_dir = data_dir
        self.logs = logs
        self.ports = {name: free_port() for name in SERVICES}
        self.bootstrap_servers = bootstrap_servers
        self.stack = self._new()

    def _new(self) -> Stack:
        return Stack(
            self.data_dir,
            ports=self.ports,
            bootstrap_servers=self.bootstrap_servers,
            log=self.logs.append,
            extra_env={"PMO_LOG_LEVEL": "warning"},
        )

    def start(self) -> None:
        try:
            self.stack.start()
        except Exception:
            print("\n".join(self.logs))
            raise

    def restart_on_an_empty_broker(self) -> None:
        """A second `make run`: the embedded broker keeps nothing; every service's store is the truth."""
        self.stack.stop()
        self.stack = self._new()
        self.start()

    def client(self, service: str, subject: str, *roles: str) -> httpx.Client:
        token = mint_token(dev_key_paths(self.data_dir)[0].read_bytes(), subject=subject, roles=list(roles))
        return httpx.Client(base_url=self.stack.url(service), headers={"Authorization": f"Bearer {token}"}, timeout=30)


@pytest.fixture(scope="module")
def logs() -> collections.deque[str]:
    return collections.deque(maxlen=400)


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory, logs: collections.deque[str]) -> Iterator[Running]:
    stack = Running(tmp_path_factory.mktemp("stack"), logs)
    stack.start()
    yield stack
    stack.stack.stop()


@dataclass
class World:
    """One test's own portfolio (with a board member `bob`) and strategic objective on the shared stack."""

    running: Running
    portfolio_id: str
    objective_id: str

    def client(self, service: str, subject: str, *roles: str) -> httpx.Client:
        return self.running.client(service, subject, *roles)


@pytest.fixture
def world(running: Running) -> World:
    return new_world(running)


def new_world(running: Running) -> World:
    analyst = running.client("portfolio", "paula", "pmo_analyst")
    budget = [{"fiscal_period": "FY2027", "amount": "500000.00"}]
    body = {"name": "Change", "currency": "EUR", "owner": "olga", "budget": budget, "board_members": ["bob"]}
    portfolio = analyst.post("/portfolios", json=body)
    assert portfolio.status_code == 201, portfolio.text
    period = {"start": "2026-01-01", "end": "2028-12-31"}
    objective = analyst.post("/objectives", json={"title": "Grow revenue", "weight": "3", "period": period})
    assert objective.status_code == 201, objective.text
    return World(running, portfolio.json()["id"], objective.json()["id"])


def _body(world: World, n: int) -> dict[str, Any]:
    return {
        "title": f"Initiative {n}",
        "portfolio_id": world.portfolio_id,
        "summary": "Replace the CRM",
        "sponsor": "carol",
        "objective_contributions": [{"objective_id": world.objective_id, "contribution": 4}],
        "business_case": {
            "currency": "EUR",
            "costs": [{"fiscal_period": "FY2027", "amount": COST}],
            "benefits": [{"description": "faster sales", "kind": "financial", "value_amount": "25000"}],
        },
        "timeline": {"start": "2027-01-01", "end": "2027-12-31"},
        "resource_estimate": [{"role": "developer", "fte": "0.5", "start": "2027-01-01", "end": "2027-06-30"}],
        "risk_level": "medium",
    }


def submitted(world: World, n: int) -> str:
    """A proposal drafted and submitted; intake learns the portfolio and objective from events, so it waits."""
    alice = world.client("intake", "alice", "requester")
    proposal = alice.post("/proposals", json=_body(world, n))
    assert proposal.status_code == 201, proposal.text
    proposal_id: str = proposal.json()["id"]
    wait_until(
        lambda: alice.post(f"/proposals/{proposal_id}/submit").status_code == 200, "intake to know the portfolio"
    )
    return proposal_id


def approve(world: World, proposal_id: str, rationale: str) -> httpx.Response:
    decision = {"candidate_id": proposal_id, "outcome": "approved", "rationale": rationale,
                "override_reason": "fast-tracked: no scoring round",
                "approved_budget": [{"fiscal_period": "FY2027", "amount": COST}]}  # fmt: skip
    board = world.client("portfolio", "bob", "board_member")
    return board.post(f"/portfolios/{world.portfolio_id}/decisions", json=decision)


def approved_project(world: World) -> str:
    """A proposal submitted, registered as a candidate and approved: a project with demand in resourcing."""
    proposal_id = submitted(world, 0)
    board = world.client("portfolio", "bob", "board_member")
    wait_until(lambda: proposal_id in _candidate_ids(board, world.portfolio_id), "the candidate to be registered")
    assert approve(world, proposal_id, "Best value for FY2027").status_code == 201
    return proposal_id


def test_one_initiative_from_proposal_to_project(world: World) -> None:
    proposal_id = submitted(world, 0)
    alice = world.client("intake", "alice", "requester")
    assert alice.get(f"/proposals/{proposal_id}").json()["status"] == "submitted"
    board = world.client("portfolio", "bob", "board_member")
    wait_until(lambda: _candidate_ids(board, world.portfolio_id) == {proposal_id}, "the candidate to be registered")
    stranger = world.client("portfolio", "mallory", "board_member", "admin")
    decision = {"candidate_id": proposal_id, "outcome": "approved", "rationale": "Best value for FY2027",
                "approved_budget": [{"fiscal_period": "FY2027", "amount": COST}]}  # fmt: skip
    assert stranger.post(f"/portfolios/{world.portfolio_id}/decisions", json=decision).status_code == 403
    assert approve(world, proposal_id, "Best value for FY2027").status_code == 201

    assert wait_until(lambda: alice.get(f"/proposals/{proposal_id}").json()["status"] == "approved")
    project = board.get(f"/projects/{proposal_id}")
    assert project.status_code == 200 and project.json()["status"] == "active"
    resourcing = world.client("resourcing", "rita", "resource_manager")
    demands = wait_until(lambda: resourcing.get("/demands", params={"project_id": proposal_id}).json()["items"])
    assert [(d["role"], d["fte"]) for d in demands] == [("developer", "0.5000")]
    reporting = world.client("reporting", "victor", "viewer")
    # bob is the whole board: his motion carried with his vote, and the audit keeps both the motion and the decision.
    wait_until(lambda: len(_decisions(reporting, world.portfolio_id)) == 2, "the motion and the decision")
    audit = sorted(_decisions(reporting, world.portfolio_id), key=lambda d: str(d["kind"]))
    assert [(d["kind"], d["subject_id"], d["outcome"], d["decided_by"]) for d in audit] == [
        ("investment", proposal_id, "approved", "bob"),
        ("motion", proposal_id, "approved", "board"),
    ]
    assert (audit[0]["rationale"], audit[0]["authority"]) == ("Best value for FY2027", "board")
    assert portfolio_remaining(board, world.portfolio_id) == "490000.00"


def test_a_board_decides_by_vote_and_every_service_follows(world: World) -> None:
    """Two members, quorum 2: bob's motion waits for carla's vote; the vote that carries it approves the
    candidate, and intake, resourcing and reporting (the audit with every vote) follow from the events."""
    owner = world.client("portfolio", "olga", "viewer")
    charter = {"members": ["bob", "carla"], "chair": "bob", "quorum": 2, "rule": "simple_majority"}
    assert owner.put(f"/portfolios/{world.portfolio_id}/charter", json=charter).status_code == 200
    proposal_id = submitted(world, 0)
    bob = world.client("portfolio", "bob", "board_member")
    wait_until(lambda: proposal_id in _candidate_ids(bob, world.portfolio_id), "the candidate to be registered")
    decision = {"candidate_id": proposal_id, "outcome": "approved", "rationale": "Best value for FY2027",
                "override_reason": "fast-tracked: no scoring round",
                "approved_budget": [{"fiscal_period": "FY2027", "amount": COST}]}  # fmt: skip
    alone = bob.post(f"/portfolios/{world.portfolio_id}/decisions", json=decision)
    assert alone.status_code == 409 and alone.json()["type"].endswith("board-vote-needed")
    moved = bob.post(f"/portfolios/{world.portfolio_id}/motions", json=decision)
    assert moved.status_code == 201 and moved.json()["status"] == "open", moved.text
    alice = world.client("intake", "alice", "requester")
    assert alice.get(f"/proposals/{proposal_id}").json()["status"] == "submitted"  # nothing decided yet

    carla = world.client("portfolio", "carla", "board_member")
    vote = {"vote": "for", "rationale": "Agreed: fits the objective"}
    carried = carla.post(f"/portfolios/{world.portfolio_id}/motions/{moved.json()['id']}/votes", json=vote)
    assert carried.status_code == 200 and carried.json()["status"] == "carried", carried.text

    wait_until(lambda: alice.get(f"/proposals/{proposal_id}").json()["status"] == "approved", "intake approved")
    resourcing = world.client("resourcing", "rita", "resource_manager")
    wait_until(lambda: resourcing.get("/demands", params={"project_id": proposal_id}).json()["items"], "demand")
    reporting = world.client("reporting", "victor", "viewer")
    wait_until(lambda: len(_decisions(reporting, world.portfolio_id)) == 2, "the motion and the decision")
    by_kind = {d["kind"]: d for d in _decisions(reporting, world.portfolio_id)}
    votes = [("bob", "for", "Best value for FY2027"), ("carla", "for", "Agreed: fits the objective")]
    assert [(v["voter"], v["vote"], v["rationale"]) for v in by_kind["motion"]["votes"]] == votes
    assert by_kind["motion"]["result"] == "carried" and by_kind["motion"]["tally"]["votes_for"] == 2
    investment = by_kind["investment"]
    assert (investment["authority"], investment["motion_id"]) == ("board", moved.json()["id"])
    assert [(v["voter"], v["vote"]) for v in investment["evidence"]["votes"]] == [("bob", "for"), ("carla", "for")]


def test_sigkill_of_each_service_mid_load_loses_and_duplicates_nothing(world: World) -> None:
    stack = world.running.stack
    board = world.client("portfolio", "bob", "board_member")
    ids = []
    for n in range(1, PROPOSALS + 1):
        ids.append(submitted(world, n))
        if n == PROPOSALS // 2:
            stack.kill_service("portfolio", signal.SIGKILL)  # its consumer dies mid-stream
            stack.start_service("portfolio")
    wait_until(lambda: len(_candidate_ids(board, world.portfolio_id)) == PROPOSALS, "every candidate registered")

    for n, proposal_id in enumerate(ids, start=1):
        assert approve(world, proposal_id, f"round {n}").status_code == 201
        if n == 4:
            stack.kill_service("resourcing", signal.SIGKILL)
        if n == 6:
            stack.kill_service("reporting", signal.SIGKILL)
        if n == 8:
            stack.kill_service("intake", signal.SIGKILL)
            stack.start_service("intake")
    stack.start_service("resourcing")
    stack.start_service("reporting")
    after = snapshot(world, wait_for=PROPOSALS)
    assert len(after["decisions"]) == PROPOSALS
    assert len(after["demands"]) == PROPOSALS
    assert set(after["statuses"].values()) == {"approved"}
    assert after["remaining"] == "380000.00"


def test_restart_on_an_empty_broker_answers_as_before(world: World) -> None:
    """A second `make run`: the embedded broker kept nothing, every service's store is the truth."""
    for n in range(1, 4):
        project_id = submitted(world, n)
        board = world.client("portfolio", "bob", "board_member")
        wait_until(lambda: project_id in _candidate_ids(board, world.portfolio_id), "the candidate to be registered")  # noqa: B023
        assert approve(world, project_id, f"before the restart {n}").status_code == 201
    before = snapshot(world, wait_for=3)

    world.running.restart_on_an_empty_broker()
    assert snapshot(world, wait_for=3) == before
    # And the flow still works on the new broker.
    proposal_id = submitted(world, 99)
    board = world.client("portfolio", "bob", "board_member")
    wait_until(lambda: proposal_id in _candidate_ids(board, world.portfolio_id), "the candidate to be registered")
    reporting = world.client("reporting", "victor", "viewer")
    history = wait_until(lambda: _types(reporting, proposal_id) if len(_types(reporting, proposal_id)) >= 3 else None)
    assert history[:2] == ["pmo.intake.ProposalDrafted.v1", "pmo.intake.ProposalSubmitted.v1"]


def test_broker_kill_9_under_write_load_every_subscription_reconnects_and_nothing_is_lost_or_duplicated(
    world: World,
) -> None:
    """kill -9 the broker while intake and portfolio take commands, and start it again on the same port: the
    embedded broker is memory only, so it comes back empty (a new epoch; every relay republishes its store,
    every subscription re-reads from offset 0)."""
    stack = world.running.stack
    survives_a_broker_outage(world, lambda: stack.kill_broker(signal.SIGKILL), stack.restart_broker)


def test_a_broker_that_goes_away_and_comes_back_with_its_history_loses_and_duplicates_nothing(
    tmp_path: Path,
) -> None:
    """The broker unreachable under a write load, then back on the same port with everything it had (a broker
    restart that keeps its log; the memory-only embedded broker cannot, so a proxy in front of it is cut and
    restored): the same epoch, so relays go on from the outbox and subscriptions from their stored offsets."""
    broker_port = free_port()
    proxy = TcpProxy(("127.0.0.1", broker_port))
    broker = start_broker(broker_port, advertised_port=proxy.port)  # clients are told to use the proxy
    proxy.start()
    running = Running(tmp_path, collections.deque(maxlen=400), bootstrap_servers=proxy.address)
    try:
        running.start()
        survives_a_broker_outage(new_world(running), proxy.cut, proxy.start)
    finally:
        running.stack.stop()
        proxy.cut()
        broker.stop()


def survives_a_broker_outage(world: World, go_away: Callable[[], object], come_back: Callable[[], object]) -> None:
    """Under a write load the broker goes away and comes back: meanwhile readiness is 503 naming the broker and
    commands go on; after, every relay and subscription reconnects within 15 s, readiness is 200, and every
    acknowledged write is in every read model exactly once."""
    board = world.client("portfolio", "bob", "board_member")
    alice = world.client("intake", "alice", "requester")
    waiting = [submitted(world, n) for n in range(1, 5)]  # candidates the board approves during the load
    wait_until(lambda: set(waiting) <= _candidate_ids(board, world.portfolio_id), "the candidates to be registered")
    acknowledged: dict[str, list[str]] = {"submitted": list(waiting), "approved": []}
    refused: list[str] = []
    rounds = threading.Semaphore(0)
    outage_over = threading.Event()

    def write_load() -> None:
        """Each round: a proposal drafted and submitted in intake, and one board approval in portfolio."""
        for n in range(10, 22):
            try:
                draft = alice.post("/proposals", json=_body(world, n))
                submit = alice.post(f"/proposals/{draft.json()['id']}/submit") if draft.status_code == 201 else draft
                if submit.status_code == 200:
                    acknowledged["submitted"].append(draft.json()["id"])
                else:
                    refused.append(f"submit {n}: {submit.status_code} {submit.text[:200]}")
                if waiting:
                    candidate = waiting.pop(0)
                    decided = approve(world, candidate, f"under load {n}")
                    if decided.status_code == 201:
                        acknowledged["approved"].append(candidate)
                    else:
                        refused.append(f"approve {candidate}: {decided.status_code} {decided.text[:200]}")
            except httpx.HTTPError as exc:
                refused.append(f"round {n}: {exc!r}")
            rounds.release()
            if n == 16:
                outage_over.wait(120)  # the rest of the load runs after the broker is back

    load = threading.Thread(target=write_load, daemon=True)
    load.start()
    for _ in range(2):
        assert rounds.acquire(timeout=120)
    go_away()
    for service in SERVICES:  # not ready, and the body names the broker
        away = wait_until(functools.partial(_readiness, world.running, service, 503), f"{service} to be unready")
        assert away["checks"]["broker"].startswith("unreachable"), away
    for _ in range(4):  # commands go on while the broker is away: the outbox holds their events
        assert rounds.acquire(timeout=120)
    come_back()
    outage_over.set()
    # Every relay and subscription reconnects to the new broker within 15 s (the readiness grace).
    wait_until(lambda: all(_connected(world.running, s) for s in SERVICES), "every link to reconnect", timeout=15)
    for service in SERVICES:
        wait_until(functools.partial(_readiness, world.running, service, 200), f"{service} to be ready again")
    load.join(300)
    assert not load.is_alive() and not refused, refused

    submitted_ids, approved_ids = acknowledged["submitted"], acknowledged["approved"]
    assert len(approved_ids) == 4 and len(submitted_ids) == 16
    wait_until(lambda: _candidate_ids(board, world.portfolio_id) == set(submitted_ids), "every candidate registered")
    for n, candidate in enumerate(sorted(set(submitted_ids) - set(approved_ids))):  # on the new broker
        assert approve(world, candidate, f"after the restart {n}").status_code == 201
        approved_ids.append(candidate)
    after = snapshot(world, wait_for=len(submitted_ids))  # waits for every event published and applied
    assert len(after["candidates"]) == len(submitted_ids)  # each once
    assert sorted(subject for _, subject, _ in after["decisions"]) == sorted(approved_ids) == sorted(submitted_ids)
    assert sorted(project for _, project in after["demands"]) == sorted(approved_ids)
    assert set(after["statuses"]) == set(submitted_ids) and set(after["statuses"].values()) == {"approved"}
    assert after["remaining"] == f"{500000 - 10000 * len(approved_ids)}.00"
    reporting = world.client("reporting", "victor", "viewer")
    for proposal_id in submitted_ids:  # reporting's history: every event once
        items = reporting.get(f"/history/{proposal_id}", params={"limit": 200}).json()["items"]
        assert len({e["event_id"] for e in items}) == len(items)
        assert [e["type"] for e in items].count("pmo.intake.ProposalSubmitted.v1") == 1


def _readiness(running: Running, service: str, status: int) -> dict[str, Any] | None:
    response = httpx.get(f"{running.stack.url(service)}/health/ready", timeout=5)
    body: dict[str, Any] = response.json()
    return body if response.status_code == status else None


def _connected(running: Running, service: str) -> bool:
    body = httpx.get(f"{running.stack.url(service)}/health/ready", timeout=5).json()
    return bool(body["relay"]["connected"] and body.get("subscription", {}).get("connected", True))


def test_cancelling_a_project_returns_its_budget_and_releases_its_people(world: World) -> None:
    """Portfolio cancels; resourcing (bookings, demand) and reporting learn it from the events alone."""
    project_id = approved_project(world)
    board = world.client("portfolio", "bob", "board_member")
    manager = world.client("resourcing", "rita", "resource_manager")
    reporting = world.client("reporting", "victor", "viewer")
    demand = wait_until(lambda: manager.get("/demands", params={"project_id": project_id}).json()["items"])[0]
    person = manager.post("/resources", json={"name": "Ana", "kind": "person", "role": "developer", "fte": "1.0"})
    assert person.status_code == 201, person.text
    booking = manager.post("/allocations", json={
        "resource_id": person.json()["id"], "project_id": project_id, "demand_id": demand["id"],
        "start": demand["start"], "end": demand["end"], "fte": demand["fte"], "status": "confirmed"})  # fmt: skip
    assert booking.status_code == 201, booking.text
    assert portfolio_remaining(board, world.portfolio_id) == "490000.00"

    cancelled = board.post(f"/projects/{project_id}/cancel", json={"rationale": "Superseded by a vendor product"})
    assert cancelled.status_code == 201, cancelled.text
    assert board.get(f"/projects/{project_id}").json()["status"] == "cancelled"
    assert portfolio_remaining(board, world.portfolio_id) == "500000.00"
    wait_until(lambda: manager.get(f"/allocations/{booking.json()['id']}").json()["status"] == "released")
    wait_until(
        lambda: manager.get("/demands", params={"project_id": project_id}).json()["items"][0]["status"] == "cancelled"
    )
    wait_until(lambda: reporting.get(f"/reports/projects/{project_id}").json().get("status") == "cancelled")


def snapshot(world: World, *, wait_for: int) -> dict[str, Any]:
    """What every service answers about this world, once each has caught up with `wait_for` approvals and
    every event is published and consumed (so a duplicate, if any, would already show)."""
    reporting = world.client("reporting", "victor", "viewer")
    resourcing = world.client("resourcing", "rita", "resource_manager")
    board = world.client("portfolio", "bob", "board_member")
    intake = world.client("intake", "alice", "requester")
    wait_until(lambda: len(_board_decisions(reporting, world.portfolio_id)) >= wait_for, "reporting's decision trail")
    candidates = board.get(f"/portfolios/{world.portfolio_id}/candidates").json()["items"]
    ids = [c["id"] for c in candidates]
    wait_until(lambda: len(_demands(resourcing, ids)) >= wait_for, "resourcing's demand")
    statuses = wait_until(lambda: _statuses(intake, ids), "intake to know every decision")
    wait_until(lambda: settled(world.running), "every event published and consumed")
    return {
        "decisions": sorted(
            (d["id"], d["subject_id"], d["outcome"]) for d in _board_decisions(reporting, world.portfolio_id)
        ),
        "demands": sorted((d["id"], d["project_id"]) for d in _demands(resourcing, ids)),
        "candidates": sorted((c["id"], c["status"]) for c in candidates),
        "statuses": statuses,
        "remaining": portfolio_remaining(board, world.portfolio_id),
        "history_sizes": {i: len(_types(reporting, i)) for i in ids},
    }


def settled(running: Running) -> bool:
    """Every event of every service published, and applied by every subscription that reads its topic."""
    recorded: dict[str, dict[str, int]] = {}
    applied: dict[str, dict[tuple[str, str], int]] = {}
    for definition in DEFINITIONS:
        with sqlite3.connect(f"file:{running.data_dir / f'{definition.name}.db'}?mode=ro", uri=True) as db:
            if db.execute("select count(*) from pmo_outbox where published_at is null").fetchone()[0]:
                return False
            versions = db.execute("select stream_id, max(version) from pmo_events group by stream_id")
            recorded[f"/pmo/{definition.name}"] = dict(versions.fetchall())
            rows = db.execute(
                "select source, stream_id, last_sequence from pmo_consumed_streams where consumer = ?",
                (definition.consumer_name,),
            )
            applied[definition.name] = {(source, stream): sequence for source, stream, sequence in rows}
    for definition in DEFINITIONS:
        sources = [f"/pmo/{name}" for name, topic in TOPICS.items() if topic in definition.consumes]
        for source in sources:
            if any(applied[definition.name].get((source, s)) != v for s, v in recorded[source].items()):
                return False
    return True


def _decisions(reporting: httpx.Client, portfolio_id: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = reporting.get(
        "/reports/decisions", params={"portfolio_id": portfolio_id, "limit": 200}
    ).json()["items"]
    return items


def _board_decisions(reporting: httpx.Client, portfolio_id: str) -> list[dict[str, Any]]:
    """The trail's decisions without the motion line each board vote adds beside its decision."""
    return [d for d in _decisions(reporting, portfolio_id) if d["kind"] != "motion"]


def _demands(resourcing: httpx.Client, project_ids: list[str]) -> list[dict[str, Any]]:
    return [d for p in project_ids for d in resourcing.get("/demands", params={"project_id": p}).json()["items"]]


def _statuses(intake: httpx.Client, ids: list[str]) -> dict[str, str] | None:
    statuses = {i: intake.get(f"/proposals/{i}").json()["status"] for i in ids}
    return statuses if set(statuses.values()) == {"approved"} else None


def _candidate_ids(client: httpx.Client, portfolio_id: str) -> set[str]:
    return {c["id"] for c in client.get(f"/portfolios/{portfolio_id}/candidates").json()["items"]}


def _types(reporting: httpx.Client, entity_id: str) -> list[str]:
    return [e["type"] for e in reporting.get(f"/history/{entity_id}", params={"limit": 200}).json()["items"]]


def portfolio_remaining(client: httpx.Client, portfolio_id: str) -> str:
    budget = client.get(f"/portfolios/{portfolio_id}").json()["budget"]
    return str(next(b["remaining"] for b in budget if b["fiscal_period"] == "FY2027"))
