"""`Idempotency-Key` over real HTTP: retries replay the first answer and record nothing new."""

from __future__ import annotations

import asyncio
import uuid

import pytest

pytestmark = pytest.mark.integration


async def proposals_in(client, portfolio_id: str) -> list[dict]:
    return (await client.get("/proposals", params={"portfolio_id": portfolio_id})).json()["items"]


async def test_a_retried_create_answers_the_first_response_and_records_nothing(intake) -> None:
    portfolio_id, key = str(uuid.uuid4()), {"Idempotency-Key": str(uuid.uuid4())}
    async with intake.client("alice", "requester") as alice:
        first = await alice.post("/proposals", json={"title": "CRM", "portfolio_id": portfolio_id}, headers=key)
        retry = await alice.post("/proposals", json={"portfolio_id": portfolio_id, "title": "CRM"}, headers=key)
        assert (first.status_code, retry.status_code) == (201, 201)
        assert retry.json() == first.json()
        assert (retry.headers["location"], retry.headers["etag"]) == (first.headers["location"], first.headers["etag"])
        assert retry.headers["idempotent-replayed"] == "true" and "idempotent-replayed" not in first.headers
        assert len(await proposals_in(alice, portfolio_id)) == 1
        other = await alice.post("/proposals", json={"title": "ERP", "portfolio_id": portfolio_id}, headers=key)
        assert other.status_code == 422
        assert other.json()["errors"][0] | {"message": ""} == {
            "field": "Idempotency-Key", "location": "header", "message": "", "code": "idempotency_key_reused",
        }  # fmt: skip
    async with intake.client("bob", "requester") as bob:
        # Keys belong to their caller: Bob's identical key is his own command.
        mine = await bob.post("/proposals", json={"title": "CRM", "portfolio_id": portfolio_id}, headers=key)
        assert mine.status_code == 201 and mine.json()["id"] != first.json()["id"]


async def test_a_retried_transition_is_not_applied_twice(intake) -> None:
    async with intake.client("alice", "requester") as alice:
        url = (await alice.post("/proposals", json={"title": "CRM", "portfolio_id": "p"})).headers["location"]
        key = {"Idempotency-Key": "withdraw-once"}
        first = await alice.post(f"{url}/withdraw", json={"reason": "not needed"}, headers=key)
        retry = await alice.post(f"{url}/withdraw", json={"reason": "not needed"}, headers=key)
        assert (first.status_code, retry.status_code, retry.json()) == (200, 200, first.json())
        assert len((await alice.get(f"{url}/history")).json()["items"]) == 2
        assert (await alice.post(f"{url}/withdraw", json={"reason": "not needed"})).status_code == 409


async def test_a_failed_command_leaves_the_key_free(intake) -> None:
    key = {"Idempotency-Key": "k-1"}
    async with intake.client("alice", "requester") as alice:
        url = (await alice.post("/proposals", json={"title": "Thin", "portfolio_id": "p"})).headers["location"]
        assert (await alice.post(f"{url}/submit", headers=key)).status_code == 422
        assert (await alice.post(f"{url}/submit", headers=key)).status_code == 422
        created = await alice.post("/proposals", json={"title": "Other", "portfolio_id": "p"}, headers=key)
        assert created.status_code == 201


async def test_concurrent_twins_create_one_proposal(intake) -> None:
    portfolio_id, key = str(uuid.uuid4()), {"Idempotency-Key": str(uuid.uuid4())}
    body = {"title": "Twin", "portfolio_id": portfolio_id}
    async with intake.client("alice", "requester") as alice:
        answers = await asyncio.gather(*[alice.post("/proposals", json=body, headers=key) for _ in range(6)])
        assert {a.status_code for a in answers} == {201}
        assert len({a.json()["id"] for a in answers}) == 1
        assert len(await proposals_in(alice, portfolio_id)) == 1


async def test_an_oversized_key_is_a_422_naming_the_header(intake) -> None:
    async with intake.client("alice", "requester") as alice:
        response = await alice.post(
            "/proposals", json={"title": "t", "portfolio_id": "p"}, headers={"Idempotency-Key": "k" * 201}
        )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "Idempotency-Key"
