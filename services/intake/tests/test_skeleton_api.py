"""Intake over real HTTP with real tokens, on a real database and broker."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.integration


async def test_draft_answers_201_with_location_etag_and_the_requester(intake) -> None:
    async with intake.client("alice", "requester") as client:
        response = await client.post("/proposals", json={"title": "New CRM", "portfolio_id": "p-1"})
        assert response.status_code == 201, response.text
        body = response.json()
        assert response.headers["location"] == f"/proposals/{body['id']}"
        assert response.headers["etag"] == '"1"'
        assert (body["status"], body["requester"], body["version"]) == ("draft", "alice", 1)
        again = await client.get(response.headers["location"])
        assert again.json() == body


async def test_submit_lists_every_missing_item_at_once(intake) -> None:
    async with intake.client("alice", "requester") as client:
        created = (await client.post("/proposals", json={"title": "Thin", "portfolio_id": "unknown"})).json()
        response = await client.post(f"/proposals/{created['id']}/submit")
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    fields = {e["field"] for e in response.json()["errors"]}
    assert {
        "summary",
        "sponsor",
        "portfolio_id",
        "objective_contributions",
        "business_case.costs",
        "business_case.benefits",
        "timeline",
    } <= fields


async def test_tokens_and_roles_are_checked(intake) -> None:
    async with intake.client() as anonymous:
        assert (await anonymous.post("/proposals", json={"title": "x", "portfolio_id": "p"})).status_code == 401
        bad = await anonymous.get("/proposals/x", headers={"Authorization": "Bearer not-a-jwt"})
        assert bad.status_code == 401
    async with intake.client("victor", "viewer") as viewer:
        assert (await viewer.post("/proposals", json={"title": "x", "portfolio_id": "p"})).status_code == 403


async def test_bad_input_is_a_422_naming_the_field(intake) -> None:
    async with intake.client("alice", "requester") as client:
        response = await client.post("/proposals", json={"title": "x" * 201, "portfolio_id": "p"})
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["title"]
