"""Budget races on PostgreSQL with concurrent HTTP requests; scenarios over HTTP; candidates over the broker."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer

from pmo_devstack.polling import eventually
from pmo_devstack.testing import as_published, running_service
from pmo_events.contracts.intake import ProposalWithdrawn
from pmo_events.envelope import RecordedEvent

from .api_support import above_request, isolated, new_portfolio, register, weighted_model
from .support import submitted
from .test_api_milestone_dependencies import FOUNDATIONS, a_programme, on_milestone

pytestmark = pytest.mark.integration


@pytest.fixture
async def on_postgres(postgres_url: str, kafka_bootstrap: str, tmp_path: Path, topic_prefix: str):
    async with running_service(
        isolated(topic_prefix), database_url=postgres_url, kafka_bootstrap=kafka_bootstrap, data_dir=tmp_path
    ) as service:
        yield service


def _approval(candidate_id: str, amount: str, who: str) -> dict[str, object]:
    return {
        "candidate_id": candidate_id,
        "outcome": "approved",
        "rationale": f"{who} backs it",
        "approved_budget": [{"fiscal_period": "FY2027", "amount": amount}],
        **above_request(amount),
        "override_reason": "scoring waived for the race",
    }


async def test_two_votes_that_would_each_carry_a_motion_at_once_decide_it_exactly_once(on_postgres) -> None:
    """cy moves each approval (quorum 2 of 3); bea's and bob's votes land at once: exactly one carries it."""
    portfolio = await new_portfolio(on_postgres, ["cy", "bea", "bob"])
    pid = portfolio["id"]
    for round_ in range(5):
        await register(on_postgres, pid, f"same-{round_}")
        async with on_postgres.client("cy", "board_member") as cy:
            moved = await cy.post(f"/portfolios/{pid}/motions", json=_approval(f"same-{round_}", "10", "cy"))
        assert moved.status_code == 201, moved.text
        votes = f"/portfolios/{pid}/motions/{moved.json()['id']}/votes"
        async with on_postgres.client("bea", "board_member") as bea, on_postgres.client("bob", "board_member") as bob:
            answers = await asyncio.gather(
                bea.post(votes, json={"vote": "for", "rationale": "bea agrees"}),
                bob.post(votes, json={"vote": "for", "rationale": "bob agrees"}),
            )
        assert sorted(a.status_code for a in answers) == [200, 409], [a.text for a in answers]
        assert next(a for a in answers if a.status_code == 200).json()["status"] == "carried"
    async with on_postgres.client("bea", "board_member") as bea:
        log = (await bea.get(f"/portfolios/{pid}/decisions")).json()["items"]
    assert sorted(d["candidate_id"] for d in log) == [f"same-{r}" for r in range(5)]
    assert {len(d["evidence"]["votes"]) for d in log} == {2}


async def test_concurrent_approvals_never_exceed_the_envelope(on_postgres) -> None:
    """Ten approvals of 150 race for an envelope of 1000: exactly six fit, whoever's request lands first.

    The board is bea alone (quorum 1: her motion carries with her vote) and bob is its portfolio manager below
    200 (delegated): each approval is decided at once, on the portfolio's stream, by one path or the other."""
    portfolio = await new_portfolio(on_postgres, ["bea"])
    charter = {"members": ["bea"], "chair": "bea", "quorum": 1, "rule": "simple_majority",
               "delegated_authority": {"portfolio_manager": "bob", "up_to": "200"}}  # fmt: skip
    async with on_postgres.client("olga", "viewer") as owner:
        assert (await owner.put(f"/portfolios/{portfolio['id']}/charter", json=charter)).status_code == 200
    pid = portfolio["id"]
    for n in range(10):
        await register(on_postgres, pid, f"race-{n}")
    async with on_postgres.client("bea", "board_member") as bea, on_postgres.client("bob", "board_member") as bob:
        answers = await asyncio.gather(
            *((bea if n % 2 else bob).post(f"/portfolios/{pid}/decisions", json=_approval(f"race-{n}", "150", "x"))
              for n in range(10))
        )  # fmt: skip
        codes = sorted(a.status_code for a in answers)
        view = (await bea.get(f"/portfolios/{pid}")).json()
    refused = [a.json() for a in answers if a.status_code == 409]
    assert codes == [201] * 6 + [409] * 4, [a.text for a in answers]
    assert view["charter"]["delegated_authority"]["up_to"] == "200.00"  # at the currency's scale, as asked "200"
    assert all(r["type"].endswith("envelope-exceeded") and r["remaining"] == "100.00" for r in refused)
    assert view["budget"][0] == {
        "fiscal_period": "FY2027",
        "envelope": "1000.00",
        "committed": "900.00",
        "remaining": "100.00",
    }


async def test_scenarios_answer_what_ifs_and_store_only_when_saved(on_postgres) -> None:
    portfolio = await new_portfolio(on_postgres, ["bea"])
    pid = portfolio["id"]
    await weighted_model(on_postgres, pid)
    for n, (value, risk) in enumerate([(5, 5), (4, 4), (3, 3), (2, 2)]):
        await register(on_postgres, pid, f"s-{n}")  # each costs 300 in 2027 and asks 2 developers in H1
        async with on_postgres.client("ann", "pmo_analyst") as analyst:
            await analyst.post(
                f"/portfolios/{pid}/candidates/s-{n}/scores", json={"scores": {"value": value, "risk": risk}}
            )
    url = f"/portfolios/{pid}/scenarios"
    async with on_postgres.client("bea", "board_member") as bea:
        plain = await bea.post(url, json={})
        assert plain.status_code == 200, plain.text
        body = plain.json()
        assert [s["id"] for s in body["selected"]] == ["s-0", "s-1", "s-2"] and body["total_value"] == "12.0000"
        assert body["proven_optimal"] is True
        assert body["totals"][0] == {
            "fiscal_period": "FY2027",
            "budget": "1000.00",
            "cost": "900.00",
            "remaining": "100.00",
        }
        assert [b["fiscal_period"] for b in body["binding_constraints"]] == ["FY2027"]

        capacity = [{"role": "developer", "fiscal_period": "FY2027-Q1", "fte": "4"}]
        what_if = {"capacity": capacity, "force_in": ["s-3"], "exclusions": [{"candidate_ids": ["s-0", "s-1"]}]}
        constrained = (await bea.post(url, json=what_if)).json()
        assert [s["id"] for s in constrained["selected"]] == ["s-0", "s-3"]
        assert {b["kind"] for b in constrained["binding_constraints"]} == {"capacity"}

        frontier = (await bea.post(url, json={"frontier": True, "value": "benefits"})).json()["frontier"]
        assert [p["budget_level"] for p in frontier][:2] == ["0.5000", "0.6000"] and len(frontier) == 11
        assert [p["total_value"] for p in frontier][::5] == ["900.0000", "2700.0000", "3600.0000"]

        impossible = await bea.post(url, json={"force_in": ["s-0", "s-1", "s-2", "s-3"]})
        assert impossible.status_code == 409
        unknown = await bea.post(url, json={"force_out": ["nope"]})
        assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "force_out.0"
        unnamed = await bea.post(url, json={"save": True})
        assert unnamed.status_code == 422 and unnamed.json()["errors"][0]["field"] == "name"
        assert (await bea.get(url)).json()["items"] == []

        saved = (await bea.post(url, json={"save": True, "name": "Plan A"})).json()["saved"]
        stored = (await bea.get(url)).json()["items"]
        assert [(s["id"], s["name"], s["saved_by"], s["selected"]) for s in stored] == [
            (saved["id"], "Plan A", "bea", ["s-0", "s-1", "s-2"])
        ]
    async with on_postgres.client("vic", "viewer") as viewer:
        assert (await viewer.post(url, json={})).status_code == 200
        assert (await viewer.post(url, json={"save": True, "name": "Mine"})).status_code == 403


async def test_submitted_proposals_become_candidates_over_the_broker(
    sqlite_url: str, kafka_bootstrap: str, tmp_path: Path, topic_prefix: str
) -> None:
    topic = f"{topic_prefix}.intake.events"
    definition = isolated(topic_prefix)  # consumes f"{topic_prefix}.intake.events"
    async with running_service(
        definition, database_url=sqlite_url, kafka_bootstrap=kafka_bootstrap, data_dir=tmp_path
    ) as service:
        pid = (await new_portfolio(service, ["bea"]))["id"]
        producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
        await producer.start()
        try:
            withdrawn = ProposalWithdrawn(proposal_id="via-kafka", portfolio_id=pid, withdrawn_by="rita", reason="moot")
            events = [submitted("via-kafka", submission=1, portfolio_id=pid), submitted("via-kafka", 2, pid), withdrawn]
            for sequence, event in enumerate(events, start=1):
                recorded = RecordedEvent(
                    event_id=str(uuid.uuid4()), type=event.type_name(), source="/pmo/intake", stream_id="via-kafka",
                    sequence=sequence, time=datetime.now(UTC), data=event.model_dump(mode="json"), actor="rita",
                )  # fmt: skip
                key, value, headers = as_published(recorded, tmp_path)
                await producer.send_and_wait(topic, value, key=key, headers=headers)
        finally:
            await producer.stop()
        async with service.client("bea", "board_member") as bea:

            async def withdrawn_after_resubmission():
                items = (await bea.get(f"/portfolios/{pid}/candidates")).json()["items"]
                return items if items and items[0]["status"] == "withdrawn" else None

            [candidate] = await eventually(withdrawn_after_resubmission, timeout=30)
            assert (candidate["id"], candidate["submission"]) == ("via-kafka", 2)
            refused = await bea.post(f"/portfolios/{pid}/decisions", json=_approval("via-kafka", "10", "bea"))
            assert refused.status_code == 409


APPROVE_CHANGE = {"outcome": "approved", "rationale": "ok"}


async def test_a_change_request_and_a_new_approval_race_for_the_envelope(on_postgres) -> None:
    """Project at 400 of 1000; a +400 change and a new 400 approval each fit, both do not: exactly one wins."""
    for round_ in range(4):
        portfolio = await new_portfolio(on_postgres, ["bea"])
        pid = portfolio["id"]
        charter = {"members": ["bea"], "chair": "bea", "quorum": 1, "rule": "simple_majority",
                   "delegated_authority": {"portfolio_manager": "bob", "up_to": "1000"}}  # fmt: skip
        async with on_postgres.client("olga", "viewer") as owner:
            assert (await owner.put(f"/portfolios/{pid}/charter", json=charter)).status_code == 200
        project, newcomer = f"race-project-{round_}", f"race-new-{round_}"
        await register(on_postgres, pid, project)
        await register(on_postgres, pid, newcomer)
        async with on_postgres.client("bea", "board_member") as bea, on_postgres.client("bob", "board_member") as bob:
            managed = {**_approval(project, "400", "bea"), "project_manager": "pam"}  # pam raises its change
            assert (await bea.post(f"/portfolios/{pid}/decisions", json=managed)).status_code == 201
            increase = {
                "kind": "budget",
                "budget_delta": [{"fiscal_period": "FY2027", "amount": "400"}],
                "rationale": "+",
            }
            # The project manager raises it: nobody decides a change they requested.
            async with on_postgres.client("pam", "project_manager") as pam:
                cr = (await pam.post(f"/projects/{project}/change-requests", json=increase)).json()["id"]
            change, approval = await asyncio.gather(
                bea.post(f"/projects/{project}/change-requests/{cr}/decision", json=APPROVE_CHANGE),
                bob.post(f"/portfolios/{pid}/decisions", json=_approval(newcomer, "400", "bob")),
            )  # fmt: skip
            assert sorted([change.status_code, approval.status_code]) == [201, 409], [change.text, approval.text]
            loser = change if change.status_code == 409 else approval
            assert loser.json()["type"].endswith("envelope-exceeded")
            envelope = (await bea.get(f"/portfolios/{pid}")).json()["budget"][0]
            assert envelope["committed"] == "800.00"
            bac = (await bea.get(f"/projects/{project}")).json()["bac"]
            assert bac == ("800.00" if change.status_code == 201 else "400.00")


def _programme(portfolio_id: str, amount: str) -> dict[str, object]:
    return {
        "portfolio_id": portfolio_id, "name": "Race", "vision": "v", "senior_responsible_owner": "sara",
        "programme_manager": "paul", "ring_fence": [{"fiscal_period": "FY2027", "amount": amount}],
    }  # fmt: skip


async def test_programmes_created_at_once_never_ring_fence_more_than_the_envelope(on_postgres) -> None:
    """Two programmes of 600 race for an envelope of 1000 (each reads what the others hold): one is refused."""
    for _round in range(5):
        pid = (await new_portfolio(on_postgres, ["bea"]))["id"]
        async with on_postgres.client("ann", "pmo_analyst") as ann, on_postgres.client("amy", "pmo_analyst") as amy:
            answers = await asyncio.gather(
                ann.post("/programmes", json=_programme(pid, "600")),
                amy.post("/programmes", json=_programme(pid, "600")),
            )
            assert sorted(a.status_code for a in answers) == [201, 409], [a.text for a in answers]
            refused = next(a for a in answers if a.status_code == 409).json()
            assert (refused["type"], refused["remaining"]) == ("urn:pmo:problem:envelope-exceeded", "400.00")
            listed = (await ann.get("/programmes", params={"portfolio_id": pid})).json()["items"]
            assert len(listed) == 1


async def test_one_project_joining_two_programmes_at_once_joins_one_and_the_other_answers_409(on_postgres) -> None:
    """Each join reads which programme the project is in, then appends to its own programme's stream."""
    pid = (await new_portfolio(on_postgres, ["bea"]))["id"]
    async with on_postgres.client("ann", "pmo_analyst") as ann:
        first = (await ann.post("/programmes", json=_programme(pid, "400"))).json()["id"]
        second = (await ann.post("/programmes", json=_programme(pid, "400"))).json()["id"]
    async with on_postgres.client("bea", "board_member") as bea, on_postgres.client("paul", "viewer") as paul:
        for round_ in range(5):
            project_id = f"join-{round_}"
            await register(on_postgres, pid, project_id)
            approved = await bea.post(f"/portfolios/{pid}/decisions", json=_approval(project_id, "10", "bea"))
            assert approved.status_code == 201, approved.text
            join = {"project_id": project_id, "rationale": "same customers"}
            targets = (first, second) if round_ % 2 else (first, first)
            answers = await asyncio.gather(*(paul.post(f"/programmes/{p}/projects", json=join) for p in targets))
            assert sorted(a.status_code for a in answers) == [200, 409], [a.text for a in answers]
        members = [
            p["project_id"]
            for programme_id in (first, second)
            for p in (await paul.get(f"/programmes/{programme_id}")).json()["projects"]
        ]
        assert sorted(members) == [f"join-{n}" for n in range(5)]


async def test_a_milestone_dependency_and_a_tranche_plan_racing_to_close_a_cycle_never_both_land(on_postgres) -> None:
    """p-web asks for the end of tranche t1 while paul puts p-web into t1: each alone is fine, together they
    are a cycle. The two write different streams (the graph, the programme); the portfolio's lock orders them,
    so exactly one lands and the other answers 409 naming the cycle. 6 rounds, the requests sent both ways."""
    async with (
        on_postgres.client("ann", "pmo_analyst") as ann,
        on_postgres.client("bea", "board_member") as bea,
        on_postgres.client("paul", "viewer") as paul,
    ):
        portfolio, programme_id = await a_programme(on_postgres, ann, bea)
        url, tranches = f"/portfolios/{portfolio}/dependencies", f"/programmes/{programme_id}/tranches"
        planned = await paul.post(tranches, json=FOUNDATIONS)
        assert planned.status_code == 200, planned.text
        t1 = planned.json()["tranches"][0]["tranche_id"]
        looped = {**FOUNDATIONS, "project_ids": ["p-core", "p-web"]}
        for round_ in range(6):
            register_it = ann.post(url, json=on_milestone("p-web", programme_id, t1))
            plan_it = paul.put(f"{tranches}/{t1}", json=looped)
            pair = (register_it, plan_it) if round_ % 2 == 0 else (plan_it, register_it)
            answers = await asyncio.gather(*pair)
            registered, replanned = answers if round_ % 2 == 0 else answers[::-1]
            outcome = (registered.status_code, replanned.status_code)
            assert outcome in ((201, 409), (409, 200)), [a.text for a in answers]
            refused = next(a for a in answers if a.status_code == 409).json()
            assert f"p-web → milestone {t1} of programme" in refused["detail"], refused
            # back to the start: the dependency withdrawn, t1 planned with p-core alone
            if registered.status_code == 201:
                withdrawn = await ann.post(f"{url}/{registered.json()['id']}/withdraw", json={"reason": "round over"})
                assert withdrawn.status_code == 200, withdrawn.text
            else:
                tranche = (await paul.get(f"/programmes/{programme_id}")).json()["tranches"][0]
                assert tranche["project_ids"] == ["p-core", "p-web"], tranche
                back = await paul.put(f"{tranches}/{t1}", json=FOUNDATIONS)
                assert back.status_code == 200, back.text
        assert (await ann.get(url)).json()["items"] == []
