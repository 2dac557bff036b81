"""Portfolios, board, scoring, ranking and decisions over real HTTP with real tokens, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from pmo_events.runtime.projection import rebuild_inline_views
from pmo_portfolio.bootstrap import PORTFOLIO

from .api_support import above_request, new_portfolio, register, weighted_model

pytestmark = pytest.mark.integration


async def test_portfolio_budget_and_board_are_governed(service) -> None:
    created = await new_portfolio(service, ["bea"])
    assert [(b["fiscal_period"], b["envelope"], b["committed"], b["remaining"]) for b in created["budget"]] == [
        ("FY2027", "1000.00", "0.00", "1000.00"),
        ("FY2028", "500.00", "0.00", "500.00"),
    ]
    url = f"/portfolios/{created['id']}"
    async with service.client("ann", "pmo_analyst") as analyst:
        budget = [{"fiscal_period": "FY2027", "amount": "1200"}]
        replaced = await analyst.put(f"{url}/budget", json={"budget": budget}, headers={"If-Match": '"1"'})
        assert replaced.status_code == 200, replaced.text
        assert replaced.headers["etag"] == '"2"' and replaced.json()["budget"][0]["envelope"] == "1200.00"
        stale = await analyst.put(f"{url}/budget", json={"budget": budget}, headers={"If-Match": '"1"'})
        assert stale.status_code == 412
        negative = await analyst.put(f"{url}/budget", json={"budget": [{"fiscal_period": "FY2027", "amount": "-5"}]})
        assert negative.status_code == 422 and negative.json()["errors"][0]["field"] == "budget.0.amount"

        # An analyst is neither the owner nor an admin: they change no board, least of all to join it.
        assert (await analyst.post(f"{url}/board", json={"subject": "ann"})).json()["type"].endswith("not-authorised")
    async with service.client("olga", "viewer") as owner:
        added = await owner.post(f"{url}/board", json={"subject": "carl"})
        assert added.status_code == 200 and added.json()["board_members"] == ["bea", "carl"]
        assert added.json()["charter"]["version"] == 2
        assert (await owner.post(f"{url}/board", json={"subject": "carl"})).status_code == 409
        themself = await owner.post(f"{url}/board", json={"subject": "olga"})
        assert themself.status_code == 403 and themself.json()["type"].endswith("separation-of-duties")
        assert (await owner.delete(f"{url}/board/bea")).status_code == 409  # the chair stays until replaced
        charter = {"members": ["bea", "carl"], "chair": "carl", "quorum": 1, "rule": "simple_majority"}
        assert (await owner.put(f"{url}/charter", json=charter)).json()["charter"]["chair"] == "carl"
        removed = await owner.delete(f"{url}/board/bea")
        assert removed.status_code == 200 and removed.json()["board_members"] == ["carl"]
        assert (await owner.delete(f"{url}/board/carl")).status_code == 409  # the last member stays
        assert (await owner.delete(f"{url}/board/nobody")).status_code == 404
    async with service.client("root", "admin") as admin:
        assert (await admin.post(f"{url}/board", json={"subject": "dora"})).json()["board_members"] == ["carl", "dora"]
        assert (await admin.post(f"{url}/board", json={"subject": "root"})).status_code == 403
    async with service.client("ann", "pmo_analyst") as analyst:
        listed = (await analyst.get("/portfolios")).json()["items"]
        assert [p["id"] for p in listed] == [created["id"]]
    async with service.client("bea", "board_member") as member:
        assert (await member.put(f"{url}/budget", json={"budget": budget})).status_code == 403
        assert (await member.get("/portfolios/unknown")).status_code == 404


async def test_scoring_model_weighted_or_pairwise_with_the_consistency_check(service) -> None:
    portfolio = await new_portfolio(service, ["bea"])
    url = f"/portfolios/{portfolio['id']}/scoring-model"
    criteria = [{"key": "value", "name": "Value"}, {"key": "risk", "name": "Risk"}, {"key": "fit", "name": "Fit"}]
    async with service.client("ann", "pmo_analyst") as analyst:
        matrix = [["1", "3", "5"], ["1/3", "1", "3"], ["1/5", "1/3", "1"]]
        ahp = await analyst.put(url, json={"criteria": criteria, "pairwise_matrix": matrix})
        assert ahp.status_code == 200, ahp.text
        model = ahp.json()["scoring_model"]
        assert (model["method"], model["consistency_ratio"]) == ("pairwise", "0.0332")
        assert [c["weight"] for c in model["criteria"]] == ["0.6370", "0.2583", "0.1047"]

        inconsistent = [["1", "9", "1/9"], ["1/9", "1", "9"], ["9", "1/9", "1"]]
        refused = await analyst.put(url, json={"criteria": criteria, "pairwise_matrix": inconsistent})
        assert refused.status_code == 422
        problem = refused.json()
        assert problem["errors"][0]["field"] == "pairwise_matrix"
        assert "consistency ratio" in problem["detail"] and "below 0.1" in problem["detail"]

        no_weight = await analyst.put(url, json={"criteria": criteria})
        assert no_weight.status_code == 422 and no_weight.json()["errors"][0]["field"] == "criteria.0.weight"
        off_scale = await analyst.put(
            url, json={"criteria": criteria, "pairwise_matrix": [["1", "11", "5"], ["1", "1", "1"]]}
        )
        assert off_scale.status_code == 422


async def test_scores_ranking_and_decisions_with_board_authority(service) -> None:
    portfolio = await new_portfolio(service, ["bea", "bob"])
    other = await new_portfolio(service, ["olaf"])
    pid = portfolio["id"]
    await weighted_model(service, pid)
    for proposal in ("p-1", "p-2", "p-3"):
        await register(service, pid, proposal)
    async with service.client("ann", "pmo_analyst") as analyst:
        listed = (await analyst.get(f"/portfolios/{pid}/candidates")).json()
        assert [(c["id"], c["status"]) for c in listed["items"]] == [
            ("p-1", "awaiting_decision"),
            ("p-2", "awaiting_decision"),
            ("p-3", "awaiting_decision"),
        ]
        scored = await analyst.post(
            f"/portfolios/{pid}/candidates/p-1/scores", json={"scores": {"value": 3, "risk": 3}}
        )
        assert scored.status_code == 201, scored.text
    async with service.client("bea", "board_member") as bea:
        await bea.post(f"/portfolios/{pid}/candidates/p-1/scores", json={"scores": {"value": 5, "risk": 1}})
        second = await bea.post(f"/portfolios/{pid}/candidates/p-2/scores", json={"scores": {"value": 5, "risk": 5}})
        assert second.json()["standing"]["rank"] == 1
        bad = await bea.post(f"/portfolios/{pid}/candidates/p-2/scores", json={"scores": {"value": 6, "risk": 5}})
        assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "scores.value"
    async with service.client("olaf", "board_member") as olaf:
        outsider = await olaf.post(f"/portfolios/{pid}/candidates/p-1/scores", json={"scores": {"value": 1, "risk": 1}})
        assert outsider.status_code == 403
        assert (await olaf.post(f"/portfolios/{pid}/decisions", json=_approve("p-1", "100"))).status_code == 403
    async with service.client("root", "admin") as admin:
        assert (await admin.post(f"/portfolios/{pid}/decisions", json=_approve("p-1", "100"))).status_code == 403

    async with service.client("bob", "board_member") as bob:
        ranking = (await bob.get(f"/portfolios/{pid}/ranking")).json()
        items = ranking["items"]
        assert [(i["id"], i["rank"]) for i in items] == [("p-2", 1), ("p-1", 2), ("p-3", None)]
        assert items[1]["criterion_scores"] == {"value": "4.0000", "risk": "2.0000"}
        assert items[1]["weighted_score"] == "3.5000"  # 0.75 * 4 + 0.25 * 2
        assert items[0]["costs"] == [{"fiscal_period": "FY2027", "amount": "300.00"}]
        assert items[0]["value_per_cost"] == "0.0166666667"

        no_reason = await bob.post(f"/portfolios/{pid}/decisions", json={**_approve("p-1", "100"), "rationale": " "})
        assert no_reason.status_code == 422 and no_reason.json()["errors"][0]["field"] == "rationale"
        too_much = await bob.post(f"/portfolios/{pid}/decisions", json=_approve("p-1", "1000.01"))
        assert too_much.status_code == 409
        assert {k: too_much.json()[k] for k in ("fiscal_period", "remaining", "asked")} == {
            "fiscal_period": "FY2027",
            "remaining": "1000.00",
            "asked": "1000.01",
        }

        # Two members: bob's motion with his vote is not yet the board's decision; bea's vote carries it.
        alone = await bob.post(f"/portfolios/{pid}/decisions", json=_approve("p-1", "700"))
        assert alone.status_code == 409 and alone.json()["type"].endswith("board-vote-needed"), alone.text
        moved = await bob.post(f"/portfolios/{pid}/motions", json=_approve("p-1", "700"))
        assert moved.status_code == 201, moved.text
        motion = moved.json()
        assert moved.headers["location"] == f"/portfolios/{pid}/motions/{motion['id']}"
        assert (motion["status"], motion["kind"], motion["outcome"], motion["quorum"]) == (
            "open", "investment", "approved", 2
        )  # fmt: skip
        assert [(v["voter"], v["vote"]) for v in motion["votes"]] == [("bob", "for")]
        assert [(c["subject"], c["reason"]) for c in motion["conflicts"]] == [("rita", "requester"), ("sam", "sponsor")]
    async with service.client("bea", "board_member") as bea:
        voted = await bea.post(
            f"/portfolios/{pid}/motions/{motion['id']}/votes", json={"vote": "for", "rationale": "agreed"}
        )
        assert voted.status_code == 200, voted.text
        assert voted.json()["status"] == "carried" and voted.json()["tally"]["votes_for"] == 2
        twice = await bea.post(
            f"/portfolios/{pid}/motions/{motion['id']}/votes", json={"vote": "for", "rationale": "x"}
        )
        assert twice.status_code == 409
    async with service.client("bob", "board_member") as bob:
        [decision] = (await bob.get(f"/portfolios/{pid}/decisions", params={"candidate_id": "p-1"})).json()["items"]
        assert (decision["decided_by"], decision["rationale"]) == ("bob", "best value for the envelope")
        assert (decision["authority"], decision["motion_id"]) == ("board", motion["id"])
        evidence = decision["evidence"]
        assert [(v["voter"], v["vote"]) for v in evidence["votes"]] == [("bob", "for"), ("bea", "for")]
        assert (evidence["rank"], evidence["weighted_score"]) == (2, "3.5000")
        assert [a["assessor"] for a in evidence["assessments"]] == ["ann", "bea"]
        assert evidence["remaining_envelope"][0]["remaining"] == "1000.00"
        # Asked as "700": every answer about the decision gives its amounts at the currency's scale.
        assert decision["approved_budget"] == [{"fiscal_period": "FY2027", "amount": "700.00"}]
        assert evidence["remaining_envelope"][0]["committed"] == "0.00"
        listed = (await bob.get(f"/portfolios/{pid}/decisions")).json()["items"]
        read = (await bob.get(f"/portfolios/{pid}/decisions/{decision['id']}")).json()
        assert listed[0]["approved_budget"] == read["approved_budget"] == decision["approved_budget"]
        assert listed[0]["evidence"]["remaining_envelope"] == read["evidence"]["remaining_envelope"]
        assert read["evidence"]["remaining_envelope"] == evidence["remaining_envelope"]

        again = await bob.post(
            f"/portfolios/{pid}/decisions",
            json={"candidate_id": "p-1", "outcome": "rejected", "rationale": "changed mind"},
        )
        assert again.status_code == 409
        over = await bob.post(f"/portfolios/{pid}/decisions", json=_approve("p-2", "300.01"))
        assert over.status_code == 409 and over.json()["remaining"] == "300.00"
        next_quarter = (
            datetime.now(UTC).date() + timedelta(days=91)
        ).isoformat()  # a review date is after today, always
        deferred = await bob.post(
            f"/portfolios/{pid}/motions",
            json={"candidate_id": "p-2", "outcome": "deferred", "rationale": "next quarter", "review_on": next_quarter},
        )
        assert deferred.status_code == 201 and deferred.json()["review_on"] == next_quarter
        no_date = await bob.post(
            f"/portfolios/{pid}/decisions", json={"candidate_id": "p-3", "outcome": "deferred", "rationale": "later"}
        )
        assert no_date.status_code == 422 and no_date.json()["errors"][0]["field"] == "review_on"

        view = (await bob.get(f"/portfolios/{pid}")).json()
        assert view["budget"][0] == {
            "fiscal_period": "FY2027",
            "envelope": "1000.00",
            "committed": "700.00",
            "remaining": "300.00",
        }
        project = await bob.get("/projects/p-1")
        assert project.status_code == 200
        assert (project.json()["id"], project.json()["status"], project.json()["portfolio_id"]) == (
            "p-1",
            "active",
            pid,
        )
        assert project.json()["baseline_budget"] == [{"fiscal_period": "FY2027", "amount": "700.00"}]
        log = (await bob.get(f"/portfolios/{pid}/decisions")).json()["items"]
        assert [(d["candidate_id"], d["outcome"]) for d in log] == [("p-1", "approved")]  # p-2's motion is open
        open_motions = (await bob.get(f"/portfolios/{pid}/motions", params={"status": "open"})).json()["items"]
        assert [(m["subject_id"], m["outcome"]) for m in open_motions] == [("p-2", "deferred")]
        one = await bob.get(f"/portfolios/{pid}/decisions/{decision['id']}")
        assert one.status_code == 200 and one.json()["id"] == decision["id"]
        statuses = (await bob.get(f"/portfolios/{pid}/candidates", params={"status": "approved"})).json()["items"]
        assert [c["id"] for c in statuses] == ["p-1"]
    assert other["id"] != pid


def _approve(candidate_id: str, amount: str) -> dict[str, object]:
    return {
        "candidate_id": candidate_id,
        "outcome": "approved",
        "rationale": "best value for the envelope",
        "approved_budget": [{"fiscal_period": "FY2027", "amount": amount}],
        **above_request(amount),
    }


async def test_a_retried_decision_with_the_same_idempotency_key_is_recorded_once(service) -> None:
    pid = (await new_portfolio(service, ["bea"]))["id"]
    await register(service, pid, "p-1")
    headers = {"Idempotency-Key": "approve-p-1"}
    body = {**_approve("p-1", "100"), "override_reason": "nobody scores a one-line fix"}
    async with service.client("bea", "board_member") as bea:
        first = await bea.post(f"/portfolios/{pid}/decisions", json=body, headers=headers)
        again = await bea.post(f"/portfolios/{pid}/decisions", json=body, headers=headers)
        assert (first.status_code, again.status_code) == (201, 201)
        assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
        other = await bea.post(f"/portfolios/{pid}/decisions", json={**body, "rationale": "other"}, headers=headers)
        assert other.status_code == 422  # the key was used for a different request
        log = (await bea.get(f"/portfolios/{pid}/decisions")).json()["items"]
        assert len(log) == 1
        assert (await bea.get(f"/portfolios/{pid}")).json()["budget"][0]["committed"] == "100.00"


async def test_views_rebuilt_from_the_store_answer_as_before(service) -> None:
    pid = (await new_portfolio(service, ["bea"]))["id"]
    await weighted_model(service, pid)
    await register(service, pid, "p-1")
    await register(service, pid, "p-2")
    async with service.client("ann", "pmo_analyst") as analyst:
        objective = {"title": "Grow", "weight": "2", "period": {"start": "2027-01-01", "end": "2027-12-31"}}
        assert (await analyst.post("/objectives", json=objective)).status_code == 201
    async with service.client("bea", "board_member") as bea:
        await bea.post(f"/portfolios/{pid}/candidates/p-1/scores", json={"scores": {"value": 4, "risk": 2}})
        assert (await bea.post(f"/portfolios/{pid}/decisions", json=_approve("p-1", "250"))).status_code == 201
        await bea.post(f"/portfolios/{pid}/scenarios", json={"save": True, "name": "Plan"})
        views = ("", "/candidates", "/ranking", "/decisions", "/scenarios")
        paths = [f"/portfolios/{pid}{view}" for view in views] + ["/objectives", "/projects/p-1"]
        before = [(await bea.get(p)).json() for p in paths]
        runtime = service.runtime
        replayed = await rebuild_inline_views(
            runtime.db, runtime.store, tables=PORTFOLIO.view_tables, projectors=PORTFOLIO.projectors
        )
        assert replayed >= 9
        assert [(await bea.get(p)).json() for p in paths] == before
