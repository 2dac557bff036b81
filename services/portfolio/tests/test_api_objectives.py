"""Strategic objectives over real HTTP with real tokens, on SQLite and PostgreSQL."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from pmo_devstack.testing import running_service
from pmo_events.contracts.common import ObjectiveContribution
from pmo_events.runtime import Metadata
from pmo_portfolio.candidates.commands import register_candidate

from .api_support import isolated, new_portfolio, weighted_model
from .support import submitted

pytestmark = pytest.mark.integration

OBJECTIVE = {"title": "Grow online sales", "weight": "3", "period": {"start": "2027-01-01", "end": "2027-12-31"}}


@pytest.fixture
async def portfolio(database_url: str, kafka_bootstrap: str, tmp_path: Path, topic_prefix: str):
    async with running_service(
        isolated(topic_prefix), database_url=database_url, kafka_bootstrap=kafka_bootstrap, data_dir=tmp_path
    ) as service:
        yield service


async def test_objectives_are_created_updated_with_if_match_and_retired(portfolio) -> None:
    async with portfolio.client("ann", "pmo_analyst") as analyst:
        created = await analyst.post("/objectives", json=OBJECTIVE)
        assert created.status_code == 201, created.text
        body = created.json()
        assert created.headers["location"] == f"/objectives/{body['id']}" and created.headers["etag"] == '"1"'
        assert (body["weight"], body["status"], body["period"]["end"]) == ("3", "active", "2027-12-31")

        url = created.headers["location"]
        patched = await analyst.patch(url, json={"weight": "5"}, headers={"If-Match": '"1"'})
        assert patched.status_code == 200 and patched.headers["etag"] == '"2"'
        assert (patched.json()["weight"], patched.json()["title"]) == ("5", "Grow online sales")
        stale = await analyst.patch(url, json={"title": "Other"}, headers={"If-Match": '"1"'})
        assert stale.status_code == 412 and stale.headers["etag"] == '"2"'

        retired = await analyst.post(f"{url}/retire", json={"reason": "strategy refreshed"})
        assert retired.status_code == 200 and retired.json()["status"] == "retired"
        assert (await analyst.post(f"{url}/retire")).status_code == 409
        assert (await analyst.patch(url, json={"weight": "1"})).status_code == 409

        await analyst.post("/objectives", json={**OBJECTIVE, "title": "Cut costs"})
        active = (await analyst.get("/objectives", params={"status": "active"})).json()["items"]
        assert [o["title"] for o in active] == ["Cut costs"]
        everything = (await analyst.get("/objectives")).json()
        assert len(everything["items"]) == 2 and everything["next_cursor"] is None
        first_page = (await analyst.get("/objectives", params={"limit": 1})).json()
        rest = (await analyst.get("/objectives", params={"cursor": first_page["next_cursor"]})).json()
        assert len(first_page["items"]) == 1 and len(rest["items"]) == 1
        assert (await analyst.get("/objectives/nope")).status_code == 404


async def test_objectives_need_an_analyst_and_valid_input(portfolio) -> None:
    async with portfolio.client("rita", "requester") as requester:
        assert (await requester.post("/objectives", json=OBJECTIVE)).status_code == 403
        assert (await requester.get("/objectives")).status_code == 200
    async with portfolio.client() as anonymous:
        assert (await anonymous.get("/objectives")).status_code == 401
    async with portfolio.client("ann", "pmo_analyst") as analyst:
        zero = await analyst.post("/objectives", json={**OBJECTIVE, "weight": "0"})
        assert zero.status_code == 422 and [e["field"] for e in zero.json()["errors"]] == ["weight"]
        backwards = await analyst.post(
            "/objectives", json={**OBJECTIVE, "period": {"start": "2027-12-31", "end": "2027-01-01"}}
        )
        assert backwards.status_code == 422 and backwards.json()["errors"][0]["field"] == "period.end"
        created = (await analyst.post("/objectives", json=OBJECTIVE)).json()
        empty = await analyst.patch(f"/objectives/{created['id']}", json={})
        assert empty.status_code == 422
        bad_etag = await analyst.patch(f"/objectives/{created['id']}", json={"weight": 2}, headers={"If-Match": "x"})
        assert bad_etag.status_code == 400


async def test_alignment_is_with_the_portfolios_own_objectives_and_unknown_portfolios_are_refused(portfolio) -> None:
    """5/5 against the only objective of ITS portfolio is 1, whatever other portfolios' objectives weigh."""
    mine, theirs = await new_portfolio(portfolio, ["bea"]), await new_portfolio(portfolio, ["bea"])
    async with portfolio.client("ann", "pmo_analyst") as analyst:
        own = await analyst.post("/objectives", json={**OBJECTIVE, "portfolio_ids": [mine["id"]]})
        assert own.status_code == 201, own.text
        assert own.json()["portfolio_ids"] == [mine["id"]]
        other = await analyst.post("/objectives", json={**OBJECTIVE, "weight": "10", "portfolio_ids": [theirs["id"]]})
        assert other.status_code == 201, other.text
        unknown = await analyst.post("/objectives", json={**OBJECTIVE, "portfolio_ids": [mine["id"], "nope"]})
        assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "portfolio_ids.1"
        twice = await analyst.post("/objectives", json={**OBJECTIVE, "portfolio_ids": [mine["id"], mine["id"]]})
        assert twice.status_code == 422 and twice.json()["errors"][0]["field"] == "portfolio_ids"
        moved = await analyst.patch(own.headers["location"], json={"portfolio_ids": ["nope"]})
        assert moved.status_code == 422 and moved.json()["errors"][0]["field"] == "portfolio_ids.0"
    contribution = (ObjectiveContribution(objective_id=own.json()["id"], contribution=5),)
    proposal = submitted("c-1", portfolio_id=mine["id"]).model_copy(update={"objective_contributions": contribution})
    async with portfolio.runtime.commands.unit_of_work(Metadata(actor="rita")) as uow:
        await register_candidate(uow, proposal)
    await weighted_model(portfolio, mine["id"])
    async with portfolio.client("bea", "board_member") as bea:
        ranking = (await bea.get(f"/portfolios/{mine['id']}/ranking")).json()["items"]
    assert [(c["id"], Decimal(c["strategic_alignment"])) for c in ranking] == [("c-1", Decimal(1))]
