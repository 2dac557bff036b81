"""Lessons reach the next team: lessons recorded in portfolio, learned over the broker, offered to proposals."""

from __future__ import annotations

import pytest

from pmo_devstack.polling import eventually
from pmo_devstack.testing import RunningService

from .support import PortfolioFeed, complete_proposal

pytestmark = pytest.mark.integration


async def _offered(client, url: str, count: int) -> list[dict] | None:
    items = (await client.get(f"{url}/related-lessons")).json()["items"]
    return items if len(items) >= count else None


async def test_a_proposal_is_offered_the_relevant_lessons_with_reasons_best_first(
    intake: RunningService, feed: PortfolioFeed, known: tuple[str, str]
) -> None:
    portfolio_id, objective_id = known
    vendor = await feed.lesson(
        portfolio_id, "Vendor contract signed late", "Negotiating the CRM licences took four months", "procurement",
        "vendor",
    )  # fmt: skip
    elsewhere = await feed.lesson("other", "Hosted CRM outage", "Ask the hosted provider for its SLA", "operations")
    await feed.lesson(portfolio_id, "Office move", "Book the rooms early", "facilities")
    body = complete_proposal(
        portfolio_id, objective_id, title="Hosted CRM procurement", summary="Choose a vendor and sign the contract"
    )
    async with intake.client("alice", "requester") as alice:
        url = (await alice.post("/proposals", json=body)).headers["location"]
        items = await eventually(lambda: _offered(alice, url, 2), timeout=30)
        assert [i["lesson_id"] for i in items] == [vendor, elsewhere]
        first = items[0]
        words = "crm, procurement, vendor, sign, contract"
        assert first["reason"] == f"same category: procurement; tags: vendor; words: {words}; same portfolio"
        assert (first["matched_category"], first["matched_tags"], first["same_portfolio"]) == (
            "procurement",
            ["vendor"],
            True,
        )
        assert items[1]["reason"] == "words: hosted, crm"
        assert float(first["relevance"]) > float(items[1]["relevance"]) > 0

        page = (await alice.get(f"{url}/related-lessons", params={"limit": 1})).json()
        assert [i["lesson_id"] for i in page["items"]] == [vendor]
        rest = (await alice.get(f"{url}/related-lessons", params={"cursor": page["next_cursor"]})).json()
        assert ([i["lesson_id"] for i in rest["items"]], rest["next_cursor"]) == ([elsewhere], None)


async def test_related_lessons_of_an_unknown_proposal_or_by_a_bad_cursor_are_4xx(intake: RunningService) -> None:
    async with intake.client("alice", "requester") as alice:
        missing = await alice.get("/proposals/9d2b7c4e-1f3a-4e5b-8c6d-7a8b9c0d1e2f/related-lessons")
        assert missing.status_code == 404
        assert (await alice.get("/proposals/not-an-id/related-lessons")).status_code == 404
        url = (await alice.post("/proposals", json={"title": "x", "portfolio_id": "p"})).headers["location"]
        bad = await alice.get(f"{url}/related-lessons", params={"cursor": "c1.zzz"})
        assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "cursor"
        assert (await alice.get(f"{url}/related-lessons")).json() == {"items": [], "next_cursor": None}


async def _lesson_stream(intake: RunningService, proposal_id: str) -> list[dict]:
    async with intake.runtime.db.sessions() as session:
        recorded = await intake.runtime.store.load(session, f"lessons-{proposal_id}")
    return [{"event": r.type.split(".")[2], "actor": r.actor, **r.data} for r in recorded]


async def test_drafting_and_submitting_offer_the_lessons_and_the_team_acknowledges_them(
    intake: RunningService, feed: PortfolioFeed, known: tuple[str, str]
) -> None:
    portfolio_id, objective_id = known
    vendor = await feed.lesson(portfolio_id, "Vendor contract signed late", "Start early", "procurement", "vendor")
    body = complete_proposal(portfolio_id, objective_id, title="CRM procurement", summary="Pick a vendor")
    async with intake.client("alice", "requester") as alice, intake.client("mallory", "requester") as mallory:
        probe = (await alice.post("/proposals", json={"title": "vendor", "portfolio_id": portfolio_id})).headers
        await eventually(lambda: _offered(alice, probe["location"], 1), timeout=30)

        drafted = await alice.post("/proposals", json=body)
        assert drafted.headers["etag"] == '"1"'  # the offer is on a stream of its own
        url = drafted.headers["location"]
        proposal_id = url.rsplit("/", 1)[1]
        assert (await alice.post(f"{url}/submit")).status_code == 200
        offers = await _lesson_stream(intake, proposal_id)
        assert [(o["event"], o["occasion"]) for o in offers] == [
            ("LessonsOffered", "drafted"),
            ("LessonsOffered", "submitted"),
        ]
        assert offers[0]["lessons"] == [
            {"lesson_id": vendor, "relevance": "8.00",
             "reason": "same category: procurement; tags: vendor; words: procurement, vendor; same portfolio"}
        ]  # fmt: skip

        said = {"applies": True, "note": "We start the vendor selection before the plan gate"}
        ack_url = f"{url}/related-lessons/{vendor}/acknowledge"
        assert (await mallory.post(ack_url, json=said)).status_code == 403
        acknowledged = await alice.post(ack_url, json=said)
        assert acknowledged.status_code == 200, acknowledged.text
        assert (acknowledged.json()["applies"], acknowledged.json()["acknowledged_by"]) == (True, "alice")
        assert acknowledged.headers["etag"] == '"3"'
        changed_mind = await alice.post(ack_url, json={"applies": False, "note": "the vendor is already chosen"})
        assert changed_mind.json()["applies"] is False

        (item,) = (await alice.get(f"{url}/related-lessons")).json()["items"]
        assert item["acknowledgement"]["note"] == "the vendor is already chosen"
        assert (await alice.get(f"{url}")).headers["etag"] == '"2"'

        unknown = await alice.post(f"{url}/related-lessons/no-such-lesson/acknowledge", json=said)
        assert unknown.status_code == 404 and unknown.json()["type"].endswith("lesson-not-found")
        blank = await alice.post(ack_url, json={"applies": True, "note": ""})
        assert blank.status_code == 422 and blank.json()["errors"][0]["field"] == "note"
        missing = await alice.post(ack_url, json={"note": "x"})
        assert missing.status_code == 422 and missing.json()["errors"][0]["field"] == "applies"
    stream = await _lesson_stream(intake, proposal_id)
    assert [(e["event"], e.get("applies"), e["actor"]) for e in stream[2:]] == [
        ("LessonAcknowledged", True, "alice"), ("LessonAcknowledged", False, "alice")
    ]  # fmt: skip
