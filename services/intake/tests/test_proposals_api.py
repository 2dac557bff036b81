"""The proposal lifecycle over real HTTP with real tokens, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid

import pytest

from pmo_devstack.polling import eventually

from .support import complete_proposal, knows_programme

pytestmark = pytest.mark.integration


async def test_a_full_draft_round_trips_with_money_as_decimal_strings(intake, known) -> None:
    body = complete_proposal(*known)
    async with intake.client("alice", "requester") as alice:
        created = await alice.post("/proposals", json=body)
        assert created.status_code == 201, created.text
        view = created.json()
        assert view["business_case"]["costs"] == [{"fiscal_period": "FY2027", "amount": "120000.00"}]
        assert view["resource_estimate"][0]["fte"] == "0.5000"
        assert (view["status"], view["requester"], view["submission"]) == ("draft", "alice", 0)
        assert (await alice.get(created.headers["location"])).json() == view


async def test_edit_needs_the_current_etag(intake, known) -> None:
    async with intake.client("alice", "requester") as alice:
        created = await alice.post("/proposals", json={"title": "CRM", "portfolio_id": known[0]})
        url = created.headers["location"]
        edited = await alice.patch(url, json={"summary": "Better CRM", "sponsor": "carol"}, headers={"If-Match": '"1"'})
        assert edited.status_code == 200, edited.text
        assert (edited.headers["etag"], edited.json()["summary"], edited.json()["title"]) == (
            '"2"',
            "Better CRM",
            "CRM",
        )
        stale = await alice.patch(url, json={"summary": "Lost update"}, headers={"If-Match": '"1"'})
        assert stale.status_code == 412
        assert (await alice.patch(url, json={"summary": "No precondition"})).status_code == 428
        cleared = await alice.patch(url, json={"title": None}, headers={"If-Match": '"2"'})
        assert cleared.status_code == 422 and cleared.json()["errors"][0]["field"] == "title"
        assert (await alice.get(url)).json()["summary"] == "Better CRM"


async def test_only_the_requester_an_analyst_or_an_admin_may_edit(intake, known) -> None:
    async with intake.client("alice", "requester") as alice:
        url = (await alice.post("/proposals", json={"title": "CRM", "portfolio_id": known[0]})).headers["location"]
    async with intake.client("mallory", "requester") as mallory:  # someone else's draft is not even found
        assert (await mallory.patch(url, json={"title": "Mine"}, headers={"If-Match": '"1"'})).status_code == 404
        assert (await mallory.post(f"{url}/withdraw", json={"reason": "spite"})).status_code == 404
    async with intake.client("pat", "pmo_analyst") as analyst:
        tidied = await analyst.patch(url, json={"title": "CRM replacement"}, headers={"If-Match": '"1"'})
        assert tidied.status_code == 200
        history = (await analyst.get(f"{url}/history")).json()
    assert [e["actor"] for e in history["items"]] == ["alice", "pat"]


async def test_drafts_are_their_requesters_own_until_submitted(intake, known) -> None:
    """Object-level access (issue 15): lists leave others' drafts out, direct reads answer 404 (no leak)."""
    async with intake.client("alice", "requester") as alice:
        url = (await alice.post("/proposals", json=complete_proposal(*known))).headers["location"]
        own = [p["id"] for p in (await alice.get("/proposals")).json()["items"]]
        assert own == [url.rsplit("/", 1)[1]] and (await alice.get(url)).status_code == 200
    async with (
        intake.client("bob", "requester", "board_member") as bob,
        intake.client("vic", "viewer") as viewer,
        intake.client("nobody") as no_roles,
    ):
        for reader in (bob, viewer):
            assert (await reader.get("/proposals")).json()["items"] == []
            assert (await reader.get("/proposals", params={"requester": "alice"})).json()["items"] == []
            for path in (url, f"{url}/history"):
                hidden = await reader.get(path)
                assert hidden.status_code == 404 and hidden.json()["type"].endswith("proposal-not-found")
        assert (await bob.post(f"{url}/submit")).status_code == 404
        for path in ("/proposals", url, f"{url}/history"):  # a token without a role reads nothing
            assert (await no_roles.get(path)).status_code == 403
    async with intake.client("pat", "pmo_analyst") as analyst:
        assert [p["id"] for p in (await analyst.get("/proposals")).json()["items"]] == own
    async with intake.client("alice", "requester") as alice:
        assert (await alice.post(f"{url}/submit", headers={"If-Match": '"1"'})).status_code == 200
    async with intake.client("vic", "viewer") as viewer:  # submitted: every reader sees it
        assert [p["id"] for p in (await viewer.get("/proposals")).json()["items"]] == own
        assert (await viewer.get(url)).status_code == 200 and (await viewer.get(f"{url}/history")).status_code == 200


async def test_submit_then_edit_is_a_409_and_withdraw_after_submit_works(intake, known) -> None:
    async with intake.client("alice", "requester") as alice:
        url = (await alice.post("/proposals", json=complete_proposal(*known))).headers["location"]
        submitted = await alice.post(f"{url}/submit", headers={"If-Match": '"1"'})
        assert submitted.status_code == 200, submitted.text
        assert (submitted.json()["status"], submitted.json()["submission"], submitted.headers["etag"]) == (
            "submitted", 1, '"2"',
        )  # fmt: skip
        assert (await alice.patch(url, json={"title": "Late"}, headers={"If-Match": '"2"'})).status_code == 409
        assert (await alice.post(f"{url}/submit")).status_code == 409
        assert (await alice.post(f"{url}/withdraw", json={"reason": ""})).status_code == 422
        withdrawn = await alice.post(f"{url}/withdraw", json={"reason": "The vendor went bust"})
        assert withdrawn.status_code == 200
        assert withdrawn.json()["withdrawal"]["reason"] == "The vendor went bust"
        assert (await alice.post(f"{url}/withdraw", json={"reason": "again"})).status_code == 409
        events = [e["event"] for e in (await alice.get(f"{url}/history")).json()["items"]]
        assert events == ["ProposalDrafted", "ProposalSubmitted", "ProposalWithdrawn"]


async def test_submit_names_unknown_objectives_and_unbudgeted_periods(intake, known) -> None:
    portfolio_id, _ = known
    body = complete_proposal(
        portfolio_id,
        "no-such-objective",
        business_case={**complete_proposal(*known)["business_case"],
                       "costs": [{"fiscal_period": "FY2031", "amount": "-1.00"}]},
        resource_estimate=[{"role": "dev", "fte": "1.5", "start": "2027-01-01", "end": "2027-02-01"}],
    )  # fmt: skip
    async with intake.client("alice", "requester") as alice:
        url = (await alice.post("/proposals", json=body)).headers["location"]
        refused = await alice.post(f"{url}/submit")
    assert refused.status_code == 422
    assert {e["field"] for e in refused.json()["errors"]} == {
        "objective_contributions.0.objective_id",
        "business_case.costs.0.amount",
        "business_case.costs.0.fiscal_period",
        "resource_estimate.0.fte",
    }


async def test_a_same_titled_open_proposal_is_flagged_on_submit(intake, known) -> None:
    async with intake.client("alice", "requester") as alice:
        first = (await alice.post("/proposals", json=complete_proposal(*known, title="Data platform"))).json()
        url = (await alice.post("/proposals", json=complete_proposal(*known, title="data  PLATFORM"))).headers[
            "location"
        ]
        submitted = await alice.post(f"{url}/submit")
    assert submitted.status_code == 200
    warning = submitted.json()["warnings"][0]
    assert (warning["code"], warning["proposal_ids"]) == ("possible-duplicate", [first["id"]])
    async with intake.client("bob", "requester") as bob:
        url = (await bob.post("/proposals", json=complete_proposal(*known, title="Data platform"))).headers["location"]
        assert (await bob.post(f"{url}/submit")).json()["warnings"] == []


async def test_list_filters_searches_and_pages_with_a_stable_cursor(intake) -> None:
    portfolio_id = str(uuid.uuid4())
    async with intake.client("alice", "requester") as alice:
        ids = []
        for i in range(5):
            summary = "A warehouse robot" if i % 2 else "Payroll 100% upgrade"
            body = {"title": f"Initiative {i}", "portfolio_id": portfolio_id, "summary": summary}
            ids.append((await alice.post("/proposals", json=body)).json()["id"])
        await alice.post(f"/proposals/{ids[0]}/withdraw", json={"reason": "dup"})
        seen, cursor = [], None
        while True:
            params = {"portfolio_id": portfolio_id, "limit": 2, **({"cursor": cursor} if cursor else {})}
            page = (await alice.get("/proposals", params=params)).json()
            seen += [p["id"] for p in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert seen == list(reversed(ids))
        robots = (await alice.get("/proposals", params={"portfolio_id": portfolio_id, "q": "ROBOT"})).json()
        assert {p["id"] for p in robots["items"]} == {ids[1], ids[3]}
        percent = (await alice.get("/proposals", params={"portfolio_id": portfolio_id, "q": "100%"})).json()
        assert len(percent["items"]) == 3
        withdrawn = (await alice.get("/proposals", params={"portfolio_id": portfolio_id, "status": "withdrawn"})).json()
        assert [p["id"] for p in withdrawn["items"]] == [ids[0]]
        mine = (await alice.get("/proposals", params={"requester": "alice", "portfolio_id": portfolio_id})).json()
        assert len(mine["items"]) == 5
        assert (await alice.get("/proposals", params={"requester": "nobody", "portfolio_id": portfolio_id})).json()[
            "items"
        ] == []
        bad = await alice.get("/proposals", params={"cursor": "not-a-cursor"})
        assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "cursor"
        assert (await alice.get("/proposals", params={"status": "dreaming"})).status_code == 422


async def test_unknown_proposals_are_404_and_readers_need_a_token(intake) -> None:
    async with intake.client("vic", "viewer") as viewer:
        for path in (f"/proposals/{uuid.uuid4()}", "/proposals/not-an-id", f"/proposals/{uuid.uuid4()}/history"):
            assert (await viewer.get(path)).status_code == 404
        assert (await viewer.post(f"/proposals/{uuid.uuid4()}/submit")).status_code == 403  # not a requester
        assert (await viewer.get("/proposals")).status_code == 200
    async with intake.client("rita", "requester") as requester:
        assert (await requester.post(f"/proposals/{uuid.uuid4()}/submit")).status_code == 404
    async with intake.client() as anonymous:
        assert (await anonymous.get("/proposals")).status_code == 401


async def test_large_inputs_are_422_naming_the_field(intake) -> None:
    benefit = {"description": "b", "kind": "non_financial"}
    body = {"title": "t", "portfolio_id": "p", "summary": "s" * 10_001, "business_case": {"benefits": [benefit] * 51}}
    async with intake.client("alice", "requester") as alice:
        response = await alice.post("/proposals", json=body)
        assert response.status_code == 422
        assert {e["field"] for e in response.json()["errors"]} == {"summary", "business_case.benefits"}
        costs = [{"fiscal_period": "FY2027", "amount": "1e400"}, {"fiscal_period": "FY2028", "amount": "NaN"}]
        money = await alice.post(
            "/proposals", json={"title": "t", "portfolio_id": "p", "business_case": {"costs": costs}}
        )
        assert money.status_code == 422
        assert {e["field"] for e in money.json()["errors"]} == {
            "business_case.costs.0.amount", "business_case.costs.1.amount",
        }  # fmt: skip
        yen = {"currency": "JPY", "costs": [{"fiscal_period": "FY2027", "amount": "100.50"}],
               "benefits": [{"description": "b", "kind": "financial", "value_amount": "7.5"}]}  # fmt: skip
        scale = await alice.post("/proposals", json={"title": "t", "portfolio_id": "p", "business_case": yen})
        assert scale.status_code == 422, scale.text
        assert {e["field"] for e in scale.json()["errors"]} == {
            "business_case.costs.0.amount", "business_case.benefits.0.value_amount",
        }  # fmt: skip
        period = {"costs": [{"fiscal_period": "9999-Q4", "amount": "1"}]}
        named = await alice.post("/proposals", json={"title": "t", "portfolio_id": "p", "business_case": period})
        assert named.status_code == 422 and named.json()["errors"][0]["field"] == "business_case.costs.0.fiscal_period"


async def test_control_characters_are_refused_before_they_reach_the_database(intake) -> None:
    async with intake.client("alice", "requester") as alice:
        response = await alice.post("/proposals", json={"title": "CRM\x07", "portfolio_id": "p\x07"})
        assert response.status_code == 422
        assert {e["field"] for e in response.json()["errors"]} == {"title", "portfolio_id"}
        nul = await alice.post("/proposals", json={"title": "CRM\x00", "portfolio_id": "p"})
        assert nul.status_code == 422  # refused at the edge by servicekit's input guard, naming the field
        assert [e["field"] for e in nul.json()["errors"]] == ["title"]
        assert (await alice.get("/proposals", params={"q": "a\x00"})).status_code == 422
        ok = await alice.post(
            "/proposals", json={"title": "CRM", "portfolio_id": "p", "summary": "line one\n\tline two"}
        )
        assert ok.status_code == 201


async def test_a_proposal_names_the_programme_it_asks_to_join(intake, known, feed) -> None:
    """Intake learns programmes from the portfolio's events: a proposal asks to join one of its portfolio's
    (carried in ProposalSubmitted), an unknown or closed one is named at submission."""
    portfolio_id, _ = known
    programme_id = await feed.programme(portfolio_id)
    await eventually(lambda: knows_programme(intake, programme_id), timeout=30)
    async with intake.client("alice", "requester") as alice:
        unknown = await alice.post("/proposals", json=complete_proposal(*known, programme_id="nope"))
        assert unknown.json()["programme_id"] == "nope"  # a draft may hold anything; submission checks it
        refused = await alice.post(f"{unknown.headers['location']}/submit")
        assert refused.status_code == 422 and [e["field"] for e in refused.json()["errors"]] == ["programme_id"]
        url = (await alice.post("/proposals", json=complete_proposal(*known, programme_id=programme_id))).headers[
            "location"
        ]
        submitted = await alice.post(f"{url}/submit")
        assert submitted.status_code == 200 and submitted.json()["programme_id"] == programme_id
        history = (await alice.get(f"{url}/history")).json()["items"]
        [event] = [e for e in history if e["event"] == "ProposalSubmitted"]
        assert event["data"]["programme_id"] == programme_id
        await feed.close_programme(programme_id, portfolio_id)
        await eventually(lambda: knows_programme(intake, programme_id, closed=True), timeout=30)
        late = await alice.post("/proposals", json=complete_proposal(*known, programme_id=programme_id))
        closed = await alice.post(f"{late.headers['location']}/submit")
        assert closed.status_code == 422 and "closed" in closed.json()["errors"][0]["message"]
